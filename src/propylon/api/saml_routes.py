"""SAML 2.0 SP endpoints per connection: metadata, SP-initiated start, ACS, Single Logout.

Handlers read the wire request and call :mod:`propylon.signin.saml_sso`; a person only ever
sees a plain page, the reason an admin needs is in the audit trail.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from propylon.admin import saml_connections as saml_ops
from propylon.api import authorize
from propylon.api.http import read_form
from propylon.api.pages import confirm_page, page
from propylon.api.rp_logout import CONFIRM_FIELD, confirm_token, confirmed
from propylon.errors import NotFound
from propylon.runtime import Runtime
from propylon.sessions.cookie import clear_session_cookie, set_session_cookie
from propylon.sessions.pending_cookie import (
    PendingLogin,
    clear_pending_cookie,
    cookie_name,
    cookie_path,
)
from propylon.sessions.service import COOKIE_NAME, usable_handle
from propylon.signin.connection_test import pending_test
from propylon.signin.connection_test_saml import finish_saml_test
from propylon.signin.saml_slo import LogoutRefused, handle_slo, start_logout
from propylon.signin.saml_sso import LoginRefused, finish_login
from propylon.tenants.saml_connections import sp_urls

router = APIRouter(prefix="/saml/{connection_id}", tags=["SAML 2.0 SP"])
_LOGOUT_FORM_BYTES = 8192


def _rt(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


@router.get("/metadata")
async def sp_metadata(request: Request, connection_id: str) -> Response:
    """SP metadata (SAML Metadata §2.4.4) for the admin to paste into the IdP; of a draft
    (disabled) connection too, which the admin configures at the IdP before activating."""
    try:
        xml = await saml_ops.sp_metadata(_rt(request), connection_id)
    except NotFound:
        return page(404, "Not found", "There is no such SAML connection.")
    return Response(xml, media_type="application/samlmetadata+xml")


@router.get("/login")
async def login(request: Request, connection_id: str, return_to: str = "") -> Response:
    """Start SP-initiated SSO: an AuthnRequest over HTTP-Redirect (Bindings §3.4), resuming
    the authorization request ``return_to`` afterwards. The authorization endpoint starts its
    logins itself; this is for a link that names the connection."""
    return await authorize.to_idp(
        _rt(request), request, connection_id, return_to, force_authn=False
    )


@router.post("/acs")
async def acs(request: Request, connection_id: str) -> Response:
    """Assertion Consumer Service (HTTP-POST binding, Bindings §3.5). A Response to a pending
    login counts only with that login's cookie, i.e. in the browser that started it (refused
    with a page otherwise). Responses posted per client address are limited. The person is
    signed in and the authorization request the login
    answers is answered at once (:func:`propylon.api.authorize.resume`): the pending one or,
    IdP-initiated, one for the app the login lands in (:mod:`propylon.signin.landing`;
    refused with 400 if there is none). The browser goes straight back to the app with its
    code."""
    rt = _rt(request)
    limit = rt.settings.sign_in_finish_rate_limit_per_minute
    if refused := await authorize.too_many_sign_ins(rt, request, "finish", limit):
        return refused  # before the body is read, and not audited: no write
    try:
        form = await read_form(request, rt.settings.saml_max_response_bytes * 2)
    except ValueError:
        return page(400, "Sign-in failed", "The sign-in response could not be read.")
    saml_response = form.get("SAMLResponse")
    if not saml_response:
        return page(400, "Sign-in failed", "The sign-in response is missing.")
    relay_state = form.get("RelayState")
    pending = cookie_name(relay_state)
    sealed = request.cookies.get(pending) if pending else None
    request_id: str | None = getattr(request.state, "request_id", None)
    if (test := pending_test(rt, relay_state, sealed)) is not None:
        return await _test_answer(rt, connection_id, test, saml_response, pending, request_id)
    try:
        outcome = await finish_login(
            rt, connection_id, saml_response, relay_state, sealed, request_id
        )
    except NotFound:
        return page(404, "Not found", "There is no such SAML connection.")
    except LoginRefused as exc:
        why = "Your administrator can see why in the audit trail, under this request id."
        return page(exc.status, "Sign-in failed", exc.detail, why, request_id=request_id)
    response = await authorize.resume(rt, outcome.redirect_to, outcome.login)
    if response.status_code == 302:
        response.status_code = 303  # the answer to a POST is fetched with GET (RFC 9110 §15.4.4)
    set_session_cookie(response, outcome.session, rt.settings.public_url, rt.clock())
    if pending and sealed:  # the pending login is answered: the browser forgets it
        path = cookie_path(sp_urls(rt.settings.public_url, connection_id)["acs_url"])
        clear_pending_cookie(response, pending, path, rt.settings.public_url)
    return response


async def _test_answer(
    rt: Runtime,
    connection_id: str,
    test: PendingLogin,
    saml_response: str,
    pending: str | None,
    request_id: str | None,
) -> Response:
    """A test connection's answer (:mod:`propylon.signin.connection_test`): its result is
    recorded and the browser goes to the result page; nobody is signed in."""
    try:
        target = await finish_saml_test(rt, connection_id, test, saml_response, request_id)
    except NotFound:
        return page(404, "Not found", "There is no such SAML connection.")
    except LoginRefused as exc:
        return page(exc.status, "Test failed", exc.detail, request_id=request_id)
    response = RedirectResponse(target, 303, headers={"Cache-Control": "no-store"})
    if pending:
        path = cookie_path(sp_urls(rt.settings.public_url, connection_id)["acs_url"])
        clear_pending_cookie(response, pending, path, rt.settings.public_url)
    return response


def _signed_out(rt: Runtime, destination: str | None, complete: bool = True) -> Response:
    if destination:
        response: Response = RedirectResponse(
            destination, status_code=302, headers={"Cache-Control": "no-store"}
        )
    elif complete:
        response = page(200, "Signed out", "You are signed out.")
    else:
        response = page(
            200,
            "Signed out",
            "You are signed out here. Your identity provider could not end its own session; "
            "close the browser to finish signing out.",
        )
    clear_session_cookie(response, rt.settings.public_url)
    return response


@router.get("/logout", operation_id="saml_logout_get")
@router.post("/logout", operation_id="saml_logout_post")
async def logout(request: Request, connection_id: str, return_to: str = "") -> Response:
    """SP-initiated Single Logout (Profiles §4.4.3.1): end the session here, then send a
    signed LogoutRequest to the IdP when the session came from it and it has an SLO URL.

    A link or another site's form could end the session (logout CSRF), so a browser with a
    session first confirms on a page whose POST carries a token bound to its session cookie
    (as ``/oauth2/logout`` does without an ``id_token_hint``)."""
    rt = _rt(request)
    handle = request.cookies.get(COOKIE_NAME)
    agreed = False
    if request.method == "POST":
        try:
            form = await read_form(request, _LOGOUT_FORM_BYTES)
        except ValueError:  # FormTooLarge included
            form = {}
        return_to = form.get("return_to", return_to)
        agreed = usable_handle(handle) and confirmed(handle, form)
    if usable_handle(handle) and not agreed:
        return confirm_page(
            "Sign out?",
            "Do you want to sign out? Your identity provider's session ends too.",
            action=f"/saml/{connection_id}/logout",
            hidden=[(CONFIRM_FIELD, confirm_token(handle)), ("return_to", return_to)],
            button="Sign out",
        )
    try:
        outcome = await start_logout(rt, connection_id, handle, return_to)
    except NotFound:
        return page(404, "Not found", "There is no such SAML connection.")
    return _signed_out(rt, outcome.redirect_to)


@router.get("/slo")
async def slo(request: Request, connection_id: str) -> Response:
    """Single Logout Service (HTTP-Redirect, Bindings §3.4): the IdP's LogoutRequest
    (IdP-initiated) or its LogoutResponse to ours (SP-initiated)."""
    rt = _rt(request)
    query = request.scope.get("query_string", b"").decode("latin-1")
    try:
        outcome = await handle_slo(rt, connection_id, query)
    except NotFound:
        return page(404, "Not found", "There is no such SAML connection.")
    except LogoutRefused as exc:
        return page(exc.status, "Sign-out failed", exc.detail, "Your administrator can see why.")
    if "SAMLRequest=" in query:
        # IdP-initiated: the browser carries our LogoutResponse back; its cookie goes too
        return _signed_out(rt, outcome.redirect_to)
    return _signed_out(rt, outcome.redirect_to, outcome.complete)
