"""Every HTML page Propylon serves carries a strict Content-Security-Policy, X-Frame-Options,
nosniff and Referrer-Policy; in a real browser the pages still render under that policy (the
styles apply) with no violation reported."""

from __future__ import annotations

import shutil
from urllib.parse import urlencode

import httpx
import pytest

# the browser fixture
from tests.browser import CHROMIUM, chromium  # noqa: F401
from tests.conftest import Server
from tests.provider.helpers import auth_params, new_app

_REPORT_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
    e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
"""


async def _page_urls(server: Server) -> dict[str, str]:
    app = await new_app(server)
    return {
        "sign-in form": f"/oauth2/authorize?{urlencode(auth_params(app))}",
        "sign-in error": "/oauth2/authorize",
        "SAML error": "/saml/conn_nothere/login",
        "signed out": "/oauth2/logout",
        "API reference": "/docs",
    }


async def test_every_html_page_forbids_framing_sniffing_referrers_and_foreign_content(
    server: Server,
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as c:
        for kind, url in (await _page_urls(server)).items():
            r = await c.get(url)
            assert r.headers["content-type"].startswith("text/html"), kind
            policy = r.headers["content-security-policy"]
            csp = {d.strip().split(" ")[0]: d.strip() for d in policy.split(";")}
            assert csp["default-src"] == "default-src 'none'", kind
            assert csp["frame-ancestors"] == "frame-ancestors 'none'", kind
            assert csp["base-uri"] == "base-uri 'none'", kind
            assert "'unsafe-inline'" not in policy, kind
            assert r.headers["x-frame-options"] == "DENY", kind
            assert r.headers["x-content-type-options"] == "nosniff", kind
            assert r.headers["referrer-policy"] == "no-referrer", kind
        api = await c.get("/oauth2/jwks")
        assert api.headers["x-content-type-options"] == "nosniff"
        assert "content-security-policy" not in api.headers


async def test_pages_render_under_their_policy_in_a_real_browser(
    server: Server,
    chromium: object,  # noqa: F811
) -> None:
    """The pages' styles apply (their hashes are in the policy) and the browser reports no
    violation: the policy is strict without breaking a page."""
    if server.name != "sqlite":
        pytest.skip("the headers do not depend on the backend")
    if shutil.which(CHROMIUM) is None:
        pytest.skip("needs Debian chromium")
    urls = await _page_urls(server)
    context = await chromium.new_context()  # type: ignore[attr-defined]
    await context.add_init_script(_REPORT_VIOLATIONS)
    page = await context.new_page()
    try:
        for kind in ("sign-in form", "SAML error", "signed out"):
            await page.goto(server.url + urls[kind])
            width = await page.evaluate("getComputedStyle(document.body).maxWidth")
            assert width == "512px", kind  # the page's own style applied (32rem)
            assert await page.evaluate("window.__violations") == [], kind
    finally:
        await context.close()


async def test_management_answers_showing_secrets_once_are_never_stored(server: Server) -> None:
    """A webhook's ``whsec_`` secret, an API key, a SCIM token: shown once, in an answer no
    cache may keep (``Cache-Control: no-store`` on every ``/api/`` answer)."""
    async with server.api() as api:
        made = await api.post("/api/v1/webhooks", json={"url": "https://hooks.example.com/p"})
        assert made.status_code == 201 and made.json()["secret"].startswith("whsec_")
        assert made.headers["cache-control"] == "no-store"
        rotated = await api.post(f"/api/v1/webhooks/{made.json()['id']}/rotate-secret")
        assert rotated.headers["cache-control"] == "no-store"
        assert (await api.get("/api/v1/tenants")).headers["cache-control"] == "no-store"
