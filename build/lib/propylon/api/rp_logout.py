"""RP-initiated logout at ``/oauth2/logout`` (OpenID Connect RP-Initiated Logout 1.0).

- §2: with a valid ``id_token_hint`` (an ID token this issuer signed, expired or not) naming
  the browser's session (its ``sid``), the session ends at once. Without one, a request to end
  a session may be forged by any site that can make the browser follow a link, so the person
  is asked to confirm on a page whose POST form carries a token bound to the session cookie
  (:func:`confirm_token`); a POST without it (or a GET) ends nothing. The session cookie is
  also ``SameSite=Lax``, so another site's POST carries no session at all.
- §3: the person goes on to ``post_logout_redirect_uri`` (with ``state``) only if it is
  registered for the client: the hint's audience, else ``client_id``.
- A session that came through SAML continues to the IdP's SingleLogoutService
  (:func:`propylon.signin.saml_slo.continue_to_idp`), so the IdP's own session ends too;
  the validated ``post_logout_redirect_uri`` is kept with that pending logout and followed
  once the IdP's LogoutResponse arrives.
- A session that came through an OpenID Connect connection (or Google) continues to its OP's
  ``end_session_endpoint`` (:func:`propylon.signin.oidc_rp_logout.continue_to_op`); the
  validated ``post_logout_redirect_uri`` is followed when the OP sends the person back.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError

from propylon.api.oauth_adapter import browser_parameters, open_exchange, runtime_of
from propylon.api.pages import confirm_page, page
from propylon.oauth_store import signing_keys as keys
from propylon.provider.exchange import Exchange
from propylon.sessions.cookie import clear_session_cookie
from propylon.sessions.pending_cookie import set_pending_cookie
from propylon.sessions.service import COOKIE_NAME, SessionRecord
from propylon.sessions.store import load_active
from propylon.signin.oidc_rp_logout import continue_to_op
from propylon.signin.saml_slo import continue_to_idp
from propylon.tenants.credentials import hash_secret

CONFIRM_FIELD = "confirm"
"""The confirmation form's field carrying :func:`confirm_token`."""
_CARRIED = ("post_logout_redirect_uri", "state")


@dataclass(frozen=True)
class Hint:
    """What a valid ``id_token_hint`` says: the client it was issued to and its session."""

    aud: str
    sid: str | None


def confirm_token(handle: str) -> str:
    """The confirmation page's token: derived from the session cookie's secret handle, so
    only a page served to that browser has it (the ``sid``, which ID tokens publish, is a
    different hash of the handle and does not yield it)."""
    return hash_secret("logout-confirm:" + handle)


def confirmed(handle: str, posted: Mapping[str, str]) -> bool:
    """Whether a POSTed form carries the confirmation page's token for this session cookie
    (compared in constant time)."""
    token = posted.get(CONFIRM_FIELD, "")
    return hmac.compare_digest(token.encode(), confirm_token(handle).encode())


def read_hint(ex: Exchange, hint: str) -> Hint | None:
    """The ``aud`` and ``sid`` of an ID token this issuer signed (expiry is not checked: §2
    allows an expired hint)."""
    if len(hint) > 8192 or ex.verifier is None:
        return None
    try:
        decoded = jwt.decode(hint, ex.verifier, algorithms=list(keys.SUPPORTED_ALGS))
    except (JoseError, ValueError, KeyError, TypeError):
        return None
    aud, sid = decoded.claims.get("aud"), decoded.claims.get("sid")
    if decoded.claims.get("iss") != ex.issuer or not isinstance(aud, str):
        return None
    return Hint(aud, sid if isinstance(sid, str) else None)


def _with_state(uri: str, state: str | None) -> str:
    return uri + (("&" if "?" in uri else "?") + urlencode({"state": state}) if state else "")


async def logout(request: Request) -> Response:
    rt = runtime_of(request)
    params = await browser_parameters(request, "sign-out")
    if isinstance(params, Response):
        return params
    query, form = params
    data = dict(reversed(query + form))
    posted = dict(reversed(form)) if request.method == "POST" else {}
    handle = request.cookies.get(COOKIE_NAME)
    now = rt.clock()
    target: str | None = None
    unregistered = False
    idp_url: str | None = None
    ended: SessionRecord | None = None
    async with rt.db.write() as s:
        raw_hint = data.get("id_token_hint")
        ex = await open_exchange(rt, s, now, verifying=bool(raw_hint))
        client_id = data.get("client_id")
        hint: Hint | None = None
        if raw_hint:
            hint = read_hint(ex, raw_hint)
            if hint is None or (client_id and client_id != hint.aud):
                return page(400, "Invalid sign-out request", "The id_token_hint is not valid.")
            client_id = hint.aud
        wanted = data.get("post_logout_redirect_uri")
        if wanted:
            await ex.load_clients(client_id)
            client = ex.clients.get(client_id or "")
            if client is not None and client.check_post_logout_redirect_uri(wanted):
                target = _with_state(wanted, data.get("state"))
            else:
                unregistered = True
        login = await load_active(rt.sessions, s, handle, now)
        if login is not None and handle is not None:
            hinted = hint is not None and hint.sid == login.id
            if not hinted and not confirmed(handle, posted):
                carried = [(k, data[k]) for k in _CARRIED if data.get(k)]
                if client_id:
                    carried.append(("client_id", client_id))
                hidden = [(CONFIRM_FIELD, confirm_token(handle)), *carried]
                return confirm_page(
                    "Sign out?",
                    "Do you want to sign out? You will need to sign in again to continue.",
                    action="/oauth2/logout",
                    hidden=hidden,
                    button="Sign out",
                )
            await rt.sessions.end(s, login.id, now)
            idp_url = await continue_to_idp(rt, s, login.record, target or "", now)
            ended = login.record
    # the OP's metadata may be fetched: outside the transaction
    onward = await continue_to_op(rt, ended, target or "", now) if ended and not idp_url else None
    response: Response
    if idp_url:
        response = RedirectResponse(idp_url, status_code=302, headers={"Cache-Control": "no-store"})
    elif onward is not None:
        response = RedirectResponse(
            onward.url, status_code=302, headers={"Cache-Control": "no-store"}
        )
        set_pending_cookie(
            response,
            onward.cookie_name,
            onward.cookie_value,
            onward.cookie_path,
            rt.settings.public_url,
            onward.max_age,
            "lax",
        )
    elif unregistered:
        response = page(
            400,
            "Signed out",
            "You are signed out. The application asked to send you to an address it "
            "has not registered, so Propylon will not.",
        )
    elif target:  # the answer to the confirmation's POST is fetched with GET (RFC 9110 §15.4.4)
        response = RedirectResponse(target, status_code=303 if posted else 302)
    else:
        response = page(200, "Signed out", "You are signed out.")
    clear_session_cookie(response, rt.settings.public_url)
    return response
