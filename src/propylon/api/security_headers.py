"""Security headers on every HTML response.

Every ``text/html`` response gets (unless the route set its own policy):

* ``Content-Security-Policy`` (CSP Level 3), :func:`page_policy`: scripts and stylesheets
  only from Propylon's own ``/assets/`` (``'self'``: ``api/assets.py``, never an inline
  script) and the ``<style>`` blocks of Propylon's own templates, allowed by their hashes
  (CSP3 §2.3.1; :func:`template_style_hashes`), so an injected style or script does not apply;
  images from Propylon or an https URL (the brand's logo); a script's requests to Propylon
  only (``connect-src 'self'``); nothing else loaded from anywhere (``default-src 'none'``);
  no ``<base>``; no framing. Forms
  submit to Propylon, which answers with a redirect to wherever the sign-in continues: the
  tenant's IdP, an app's post-logout URI. Browsers check ``form-action`` on each redirect
  after a submission too (CSP3 §6.4.1), and those places are any https URL, so
  ``form-action 'self' https:`` (and ``http:`` only when Propylon itself is served over
  http, a development set-up with IdPs on http too);
* ``X-Frame-Options: DENY`` (RFC 7034) for browsers without ``frame-ancestors``: no page can be
  framed to trick a click (a sign-out confirmation, the sign-in form);
* ``Referrer-Policy: no-referrer``: authorization and SAML URLs carry state, never sent on.

Every response, HTML or not, gets ``X-Content-Type-Options: nosniff``, so a JSON or SCIM body
is never sniffed into something a browser runs. Every management API answer (``/api/``) is
``Cache-Control: no-store`` unless the route says otherwise (RFC 9111 §5.2.2.5): some carry a
secret shown once (an API key, a SCIM token, a webhook's ``whsec_`` secret). Pure ASGI: no
task group or stream per request, and a non-HTML response costs one or two headers.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_STYLE = re.compile(r"<style>(.*?)</style>", re.S)
_CSP = b"content-security-policy"
_ALWAYS = [(b"x-content-type-options", b"nosniff")]
_HTML_ONLY = [(b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer")]
_API_ONLY = [(b"cache-control", b"no-store")]


def source_hash(content: str) -> str:
    """The CSP hash source of an inline ``<style>`` (or ``<script>``) body (CSP3 §2.3.1)."""
    digest = base64.b64encode(hashlib.sha256(content.encode()).digest()).decode()
    return f"'sha256-{digest}'"


def template_style_hashes(package: str = "propylon.api", folder: str = "templates") -> list[str]:
    """The hashes of every ``<style>`` block in the package's templates. A block must be
    constant text (no template expression): its hash is what the browser computes."""
    found: list[str] = []
    templates = files(package).joinpath(folder)
    for template in sorted(templates.iterdir(), key=lambda t: t.name):
        if not template.name.endswith(".html"):
            continue
        for block in _STYLE.findall(template.read_text()):
            if "{{" in block or "{%" in block:
                raise ValueError(f"{template.name}: a <style> block must be constant text")
            found.append(source_hash(block))
    return sorted(set(found))


def page_policy(public_url: str) -> str:
    """The Content-Security-Policy of Propylon's pages (see the module docstring)."""
    styles = " ".join(["'self'", *template_style_hashes()])
    forms = "'self' https:" + (" http:" if public_url.startswith("http:") else "")
    return (
        f"default-src 'none'; style-src {styles}; script-src 'self'; img-src 'self' https:; "
        # a page's own script may ask its own origin (the demo's live view)
        f"connect-src 'self'; form-action {forms}; frame-ancestors 'none'; base-uri 'none'"
    )


class SecurityHeaders:
    def __init__(self, app: ASGIApp, policy: str) -> None:
        self.app = app
        self.policy = policy.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        api = scope.get("path", "").startswith("/api/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                added = list(_ALWAYS) + (_API_ONLY if api else [])
                content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if content_type.startswith(b"text/html"):
                    added += _HTML_ONLY
                    if _CSP not in names:
                        added.append((_CSP, self.policy))
                headers += [(k, v) for k, v in added if k not in names]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
