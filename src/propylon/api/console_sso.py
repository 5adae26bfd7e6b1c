"""Signing in to the console by SSO through Propylon itself (``admin/console_sso.py``):
``/admin/sso/start`` sends the browser to Propylon's own authorization endpoint for the
console's tenant (``organization=``; authorization code, PKCE S256, ``state`` and ``nonce``
kept in a sealed cookie scoped to ``/admin/sso``); ``/admin/sso/callback`` checks ``state``,
redeems the code in this process through the provider (the token endpoint's own Authlib
server and exchange, no HTTP round trip), checks the ID token's ``nonce`` and audience, and
admits the person only with the console's role. Nothing is written before the code is
redeemed; a refusal is audited."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any, Literal
from urllib.parse import urlencode

from authlib.oauth2.rfc6749.errors import InsecureTransportError
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from propylon.admin import console_sso, operators
from propylon.api.console_auth import set_session_cookie
from propylon.api.oauth_adapter import HttpProviderServer, HttpRequest, open_exchange, runtime_of
from propylon.api.pages import page, render
from propylon.api.password_forms import caller
from propylon.audit import Actor, AuditRecord, record_failure
from propylon.crypto.secretbox import SecretBoxError
from propylon.revocation.grants import revoke_grant
from propylon.revocation.service import Outboxes
from propylon.runtime import Runtime

router = APIRouter(tags=["console"], include_in_schema=False)
SSO_COOKIE = "propylon_console_sso"
_PURPOSE = "console-sso"
_PATH = "/admin/sso"
_SECONDS = 600


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _off() -> Response:
    return page(404, "Not found", "Signing in to the console with SSO is not set up.")


def _refused(detail: str) -> Response:
    return page(
        403,
        "Not allowed in the console",
        "You signed in, but your account may not use this console.",
        detail,
        links=[("/admin/login", "Back to the console's sign-in")],
    )


@router.get(_PATH + "/start")
async def start(request: Request) -> Response:
    rt = runtime_of(request)
    if not rt.settings.console_sso_tenant:
        return _off()
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(48)  # RFC 7636 §4.1: 43 to 128 characters
    challenge = _b64(hashlib.sha256(verifier.encode()).digest())
    doc = {
        "state": state,
        "nonce": nonce,
        "verifier": verifier,
        "exp": int(rt.clock().timestamp()) + _SECONDS,
    }
    query = urlencode(
        {
            "response_type": "code",
            "client_id": console_sso.CLIENT_ID,
            "redirect_uri": console_sso.redirect_uri(rt),
            "scope": "openid email",
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "organization": rt.settings.console_sso_tenant,
        }
    )
    response = RedirectResponse("/oauth2/authorize?" + query, status_code=302)
    lax: Literal["lax"] = "lax"
    response.set_cookie(
        SSO_COOKIE,
        rt.secret_box.seal(json.dumps(doc).encode(), _PURPOSE, ""),
        max_age=_SECONDS,
        path=_PATH,
        httponly=True,
        samesite=lax,
        secure=rt.settings.public_url.lower().startswith("https://"),
    )
    return response


def _pending(request: Request) -> dict[str, Any] | None:
    rt = runtime_of(request)
    sealed = request.cookies.get(SSO_COOKIE, "")
    if not sealed or len(sealed) > 1024:
        return None
    try:
        doc = json.loads(rt.secret_box.open(sealed, _PURPOSE, ""))
    except (SecretBoxError, ValueError):
        return None
    if not isinstance(doc, dict) or not all(
        isinstance(doc.get(k), str) for k in ("state", "nonce", "verifier")
    ):
        return None
    if not isinstance(doc.get("exp"), int) or doc["exp"] <= rt.clock().timestamp():
        return None
    return doc


async def redeem(rt: Runtime, code: str, verifier: str) -> dict[str, Any] | None:
    """The token response for ``code`` from the provider's own token endpoint logic, in
    this process (a replayed code revokes its grant, as at ``/oauth2/token``)."""
    form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", console_sso.redirect_uri(rt)),
        ("client_id", console_sso.CLIENT_ID),
        ("code_verifier", verifier),
    ]
    headers = {"content-type": "application/x-www-form-urlencoded"}
    out = Outboxes()
    body: Any = None
    async with rt.db.write() as s:
        ex = await open_exchange(rt, s, rt.clock(), signing=True)
        await ex.load_clients(console_sso.CLIENT_ID)
        await ex.load_code(code)
        uri = rt.settings.public_url.rstrip("/") + "/oauth2/token"
        try:
            answer = HttpProviderServer(ex).create_token_response(
                HttpRequest("POST", uri, headers, [], form)
            )
        except InsecureTransportError:
            answer = None
        if answer is not None and answer.status_code == 200:
            body = json.loads(bytes(answer.body))
        for grant in ex.revoked:
            await revoke_grant(
                s,
                rt.sessions,
                grant_id=grant.grant_id,
                client_id=grant.client_id,
                session_id=grant.session_id,
                reason=grant.reason,
                out=out,
                now=ex.now,
            )
        await ex.write_through()
        await out.flush(s, ex.now)
    await out.published(rt.events)
    return body if isinstance(body, dict) else None


def _claims(id_token: str) -> dict[str, Any]:
    """The payload of an ID token this process has just signed and handed over itself
    (never one from a request), so its signature needs no checking here."""
    try:
        payload = id_token.split(".")[1]
        doc = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


@router.get(_PATH + "/callback")
async def callback(request: Request) -> Response:
    rt = runtime_of(request)
    if not rt.settings.console_sso_tenant:
        return _off()
    pending = _pending(request)
    code, state = request.query_params.get("code", ""), request.query_params.get("state", "")
    if pending is None or not secrets.compare_digest(state.encode(), pending["state"].encode()):
        return page(
            400,
            "Sign-in expired",
            "This sign-in was not started in this browser, or it took too long.",
            links=[("/admin/login", "Start again")],
        )
    if not code or len(code) > 512:
        return page(
            400,
            "Sign-in not finished",
            "Your organisation did not sign you in.",
            links=[("/admin/login", "Start again")],
        )
    tokens = await redeem(rt, code, pending["verifier"])
    claims = _claims(tokens["id_token"]) if tokens and "id_token" in tokens else {}
    if claims.get("nonce") != pending["nonce"] or claims.get("aud") not in (
        console_sso.CLIENT_ID,
        [console_sso.CLIENT_ID],
    ):
        return page(
            400,
            "Sign-in not finished",
            "The sign-in could not be completed.",
            links=[("/admin/login", "Start again")],
        )
    sub, email = str(claims.get("sub", "")), str(claims.get("email") or "")
    admission = await console_sso.admit(rt, sub)
    request_id = caller(request)[1]
    if not admission.admitted:
        await _audit_refusal(rt, sub, admission, request_id)
        return _refused(f"Ask for the role {rt.settings.console_sso_role} to be given to you.")
    token = await operators.open_sso_session(
        rt,
        email=email or sub,
        subject=sub,
        tenant_id=admission.tenant_id or "",
        request_id=request_id,
    )
    # The session cookie is SameSite=Strict: a browser arriving here from the IdP's site
    # would not send it on a redirect's next request, so a page of ours moves on instead.
    moved = render("console/continue.html", title="Signed in", next="/admin")
    set_session_cookie(moved, rt, token)
    moved.delete_cookie(SSO_COOKIE, path=_PATH)
    return moved


async def _audit_refusal(
    rt: Runtime, sub: str, admission: console_sso.Admission, request_id: str | None
) -> None:
    actor = Actor("operator", sub[:64] or None, admission.tenant_id)
    rec = AuditRecord("console.sign_in", "user", sub[:64] or None, admission.tenant_id)
    rec.status, rec.reason, rec.request_id = 403, admission.reason, request_id
    await record_failure(rt.db, actor, rec, rt.clock())
