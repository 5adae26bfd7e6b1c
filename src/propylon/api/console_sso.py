"""Signing in to the console by SSO through Propylon itself (``admin/console_sso.py``):
``/admin/sso/start`` sends the browser to Propylon's own authorization endpoint for the
console's tenant (``organization=``; authorization code, PKCE S256, ``state`` and ``nonce``
kept in a sealed expiring cookie scoped to ``/admin/sso``); ``/admin/sso/callback`` is
limited per client address (in the accelerator), checks ``state``, looks the code up
read-only (a code not issued to the console ends there, so junk writes nothing), redeems it
in this process through the provider's own token exchange (:func:`run_token_exchange`, no
HTTP round trip), checks the ID token's ``nonce`` and audience (``admin/console_sso.py``),
and admits the person only with the console's role. A refusal is audited."""

from __future__ import annotations

import json
from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from propylon.admin import console_sso, operators
from propylon.api.authorize import too_many_sign_ins
from propylon.api.console_auth import set_session_cookie
from propylon.api.oauth_adapter import HttpRequest, run_token_exchange, runtime_of
from propylon.api.pages import page, render
from propylon.api.password_forms import caller
from propylon.audit import Actor, AuditRecord, record_failure
from propylon.crypto.secretbox import SecretBoxError, open_expiring, seal_expiring
from propylon.provider.exchange import Exchange
from propylon.runtime import Runtime

router = APIRouter(tags=["console"], include_in_schema=False)
SSO_COOKIE = "propylon_console_sso"
_PURPOSE = "console-sso"
_PATH = "/admin/sso"
_SECONDS = 600


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


def _not_finished() -> Response:
    return page(
        400,
        "Sign-in not finished",
        "The sign-in could not be completed.",
        links=[("/admin/login", "Start again")],
    )


@router.get(_PATH + "/start")
async def start(request: Request) -> Response:
    rt = runtime_of(request)
    if not rt.settings.console_sso_tenant:
        return _off()
    pending = console_sso.Pending.new()
    query = urlencode(
        {
            "response_type": "code",
            "client_id": console_sso.CLIENT_ID,
            "redirect_uri": console_sso.redirect_uri(rt),
            "scope": "openid email",
            "state": pending.state,
            "nonce": pending.nonce,
            "code_challenge": pending.challenge,
            "code_challenge_method": "S256",
            "organization": rt.settings.console_sso_tenant,
        }
    )
    response = RedirectResponse("/oauth2/authorize?" + query, status_code=302)
    lax: Literal["lax"] = "lax"
    expires = int(rt.clock().timestamp()) + _SECONDS
    response.set_cookie(
        SSO_COOKIE,
        seal_expiring(rt.secret_box, pending.to_json(), _PURPOSE, expires),
        max_age=_SECONDS,
        path=_PATH,
        httponly=True,
        samesite=lax,
        secure=rt.settings.public_url.lower().startswith("https://"),
    )
    return response


def _pending(request: Request) -> console_sso.Pending | None:
    rt = runtime_of(request)
    sealed = request.cookies.get(SSO_COOKIE, "")
    if len(sealed) > 1024:
        return None
    try:
        raw = open_expiring(rt.secret_box, sealed, _PURPOSE, rt.clock().timestamp())
    except SecretBoxError:
        return None
    return console_sso.Pending.from_json(raw)


async def redeem(rt: Runtime, code: str, verifier: str) -> dict[str, Any] | None:
    """The token response for ``code`` from the provider's own token endpoint logic
    (:func:`run_token_exchange`, as at ``/oauth2/token``: a replayed code revokes its
    grant), in this process."""
    form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", console_sso.redirect_uri(rt)),
        ("client_id", console_sso.CLIENT_ID),
        ("code_verifier", verifier),
    ]
    headers = {"content-type": "application/x-www-form-urlencoded"}
    uri = rt.settings.public_url.rstrip("/") + "/oauth2/token"

    async def load(ex: Exchange) -> None:
        await ex.load_clients(console_sso.CLIENT_ID)
        await ex.load_code(code)

    answer, _ = await run_token_exchange(
        rt,
        load,
        lambda: HttpRequest("POST", uri, headers, [], form),
        lambda server, req: server.create_token_response(req),
        signing=True,
    )
    if answer.status_code != 200:
        return None
    body = json.loads(bytes(answer.body))
    return body if isinstance(body, dict) else None


@router.get(_PATH + "/callback")
async def callback(request: Request) -> Response:
    rt = runtime_of(request)
    if not rt.settings.console_sso_tenant:
        return _off()
    limit = rt.settings.sign_in_finish_rate_limit_per_minute
    if refused := await too_many_sign_ins(rt, request, "console-sso", limit):
        return refused
    pending = _pending(request)
    code, state = request.query_params.get("code", ""), request.query_params.get("state", "")
    if pending is None or not pending.state_matches(state):
        return page(
            400,
            "Sign-in expired",
            "This sign-in was not started in this browser, or it took too long.",
            links=[("/admin/login", "Start again")],
        )
    if not await console_sso.code_is_ours(rt, code):  # read only: junk writes nothing
        return _not_finished()
    tokens = await redeem(rt, code, pending.verifier)
    claims = console_sso.id_token_claims(tokens, pending)
    if claims is None:
        return _not_finished()
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
