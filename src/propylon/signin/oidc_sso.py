"""OpenID Connect sign-in as relying party (Core §3.1, the authorization code flow), from the
authentication request to a session.

:func:`start_login` sends the person to the OP's authorization endpoint (Core §3.1.2.1) with
a fresh ``state``, ``nonce`` and PKCE challenge (RFC 7636 §4.2, S256). It writes nothing on
the server: the three secrets, the connection, the authorization request to resume, whether
a fresh authentication was asked (``prompt=login``) and the login's lifetime are sealed into a
cookie of the starting browser named by the ``state``
(:mod:`propylon.sessions.pending_cookie`, ``SameSite=Lax``: the callback is a top-level GET).

:func:`finish_login` answers the callback (Core §3.1.2.5) only with that cookie, so only in
the browser that started the login (no login CSRF), only for this connection (its callback
path and the cookie's connection: a response from another tenant's OP cannot land here) and
only before it expires. The ``iss`` parameter must name the connection's issuer (RFC 9207
§2.4: an OP mix-up is refused), an ``error`` response is refused and audited as the OP sent
it (§3.1.2.6). The code is exchanged once at the OP's token endpoint with the PKCE verifier
(the pending cookie is cleared with the answer, and the OP refuses a second use: RFC 6749
§4.1.2), the ID token validated (Core §3.1.3.7: issuer, audience and ``azp``, signature with
the OP's keys and only allowed algorithms, times with the configured skew, the ``nonce``) and
accepted once (:mod:`propylon.signin.replay`: the SHA-256 of issuer and ``jti``, or of the
whole token without one, until its expiry, in the sign-in's transaction). With the
connection's ``use_userinfo``, the UserInfo response (Core §5.3.2: its ``sub`` must be the
ID token's) adds claims. Then the user is matched or provisioned by the same rules as SAML
(:mod:`propylon.signin.oidc_users`), refused if deactivated, and the session staged with the
OP's ``sub`` and ``sid`` (so a back-channel logout finds it), audited as ``sso.oidc.login``
(``sso.google.login``) and published after commit, as :mod:`propylon.signin.saml_sso` does.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from propylon.audit import Actor, AuditRecord, record_failure
from propylon.audit.log import insert_success
from propylon.entitlements.signin import seen_at_sign_in
from propylon.errors import InvalidInput, PropylonError
from propylon.oidc.authorization import authorization_url, check_iss_parameter
from propylon.oidc.errors import OidcError
from propylon.oidc.id_token import IdTokenClaims, validate_id_token
from propylon.oidc.rfc7636 import new_verifier, s256_challenge
from propylon.oidc.token_client import exchange_code
from propylon.oidc.userinfo import fetch_userinfo
from propylon.outbound import OutboundError
from propylon.runtime import Runtime
from propylon.sessions.pending_cookie import (
    COOKIE_PREFIX,
    PendingLogin,
    cookie_name,
    cookie_path,
    new_relay_state,
)
from propylon.sessions.service import ActiveSession, SessionDraft, SessionUser
from propylon.signin import google
from propylon.signin.oidc_rp import GOOGLE, client_auth, fetcher, keys_of, load_rp, metadata
from propylon.signin.oidc_users import (
    EmailNotVerified,
    claims_as_attributes,
    find_oidc_user,
    verified_email,
)
from propylon.signin.replay import OIDC_TOKENS, remember_once
from propylon.signin.saml_sso import (
    LoginOutcome,
    LoginRefused,
    StartedLogin,
    is_local_authorize,
    open_pending,
)
from propylon.signin.user_match import Identity, JitRefused, first_value, provision
from propylon.tenants.attribute_maps import values_of
from propylon.tenants.oidc_connections import OidcConnectionRecord, rp_urls

MAX_PARAM_CHARS = 4096
"""Longest callback parameter read (a code, a state, an error description)."""
"""Core §2: ``sub`` is at most 255 ASCII characters; a ``sid`` is kept with the session
(to find it at a back-channel logout) only up to the same length, longer ones are refused."""


@dataclass(frozen=True)
class SendToSso:
    """A Google sign-in of someone whose organisation signs its people in only through its
    own SSO: the browser goes to the authorization request again, hinted at their email,
    which routes it to that SSO. Nobody is signed in by Google."""

    redirect_to: str


def _fail(reason: str) -> LoginRefused:
    return LoginRefused(reason, "The sign-in response was not accepted.", 400)


def redirect_uri(rt: Runtime, conn: OidcConnectionRecord) -> str:
    return rp_urls(rt.settings.public_url, conn.id)["redirect_uri"]


async def start_login(
    rt: Runtime,
    connection_id: str,
    return_to: str,
    *,
    force: bool = False,
    login_hint: str | None = None,
) -> StartedLogin:
    """The OP's authorization endpoint URL for a new login resuming ``return_to`` and the
    cookie that binds it to this browser; ``force``: ``prompt=login`` (Core §3.1.2.1), the OP
    must authenticate the person anew. Reads (the connection, the OP's metadata), writes
    nothing. :class:`~propylon.oidc.errors.OidcError` or
    :class:`~propylon.outbound.OutboundError` when the OP's metadata cannot be had."""
    if not is_local_authorize(return_to):
        raise InvalidInput("sign-in must start from the authorization endpoint")
    conn = await load_rp(rt, connection_id)
    return await begin_login(rt, conn, return_to, force=force, login_hint=login_hint)


async def begin_login(
    rt: Runtime,
    conn: OidcConnectionRecord,
    return_to: str,
    *,
    force: bool = False,
    login_hint: str | None = None,
    test_id: str | None = None,
) -> StartedLogin:
    """The authentication request of :func:`start_login` on a loaded connection;
    ``test_id``: a test connection's login (``signin/connection_test.py``), which may use a
    disabled connection and is answered with the test's result, never a session."""
    meta = await metadata(rt, conn)
    now = rt.clock()
    lifetime = rt.settings.oidc_login_lifetime_seconds
    state, verifier, nonce = new_relay_state(), new_verifier(), secrets.token_urlsafe(16)
    pending = PendingLogin(
        request_id="",
        connection_id=conn.id,
        return_to=return_to,
        force_authn=force,
        created_at=now,
        expires_at=now + timedelta(seconds=lifetime),
        kind="oidc",
        nonce=nonce,
        code_verifier=verifier,
        test_id=test_id,
    )
    sealed = rt.pending_logins.seal(state, pending)
    callback = redirect_uri(rt, conn)
    url = authorization_url(
        meta,
        client_id=conn.client_id,
        redirect_uri=callback,
        scopes=list(conn.scopes),
        state=state,
        nonce=nonce,
        code_challenge=s256_challenge(verifier),
        prompt="login" if force else None,
        login_hint=login_hint or None,
    )
    return StartedLogin(url, COOKIE_PREFIX + state, sealed, cookie_path(callback), lifetime, "lax")


def _pending(
    rt: Runtime, conn: OidcConnectionRecord, state: str | None, sealed: str | None, now: datetime
) -> PendingLogin:
    """The pending login the ``state`` names, from this browser's cookie (Core §3.1.2.7: the
    ``state`` binds the response to the browser that sent the request)."""
    if state is None or cookie_name(state) is None:
        raise LoginRefused(
            "state_invalid", "This sign-in could not be checked. Sign in again.", 400
        )
    return open_pending(rt, state, sealed, conn.id, "oidc", now)


def _refuse_inactive(user: SessionUser) -> None:
    if user.deleted_at is not None:
        raise LoginRefused("user_deprovisioned", "Your account is no longer active.")
    if not user.active:
        raise LoginRefused("user_deactivated", "Your account is deactivated.")


async def redeem_code(
    rt: Runtime, conn: OidcConnectionRecord, pending: PendingLogin, code: str, now: datetime
) -> tuple[IdTokenClaims, dict[str, Any]]:
    """The code exchanged and the ID token validated: its claims, typed and all (with
    UserInfo's, when the connection reads it)."""
    if not pending.nonce or not pending.code_verifier:  # never validate against an empty nonce
        raise LoginRefused("pending_login_invalid", "This sign-in could not be checked.", 400)
    meta = await metadata(rt, conn)
    fetch = fetcher(rt)
    tokens = await exchange_code(
        meta,
        client_auth(rt, conn),
        code=code,
        redirect_uri=redirect_uri(rt, conn),
        code_verifier=pending.code_verifier,
        fetch=fetch,
    )
    s = rt.settings
    validated = await validate_id_token(
        tokens.id_token,
        keys=keys_of(rt, conn.issuer),
        issuer=conn.issuer,
        client_id=conn.client_id,
        trusted_audiences=list(conn.trusted_audiences),
        nonce=pending.nonce,
        now=now,
        skew=timedelta(seconds=s.oidc_clock_skew_seconds),
        allowed_algs=s.oidc_algorithms(),
        max_bytes=s.oidc_max_token_bytes,
    )
    claims = dict(validated.claims)
    if conn.use_userinfo and tokens.access_token:
        extra = await fetch_userinfo(meta, tokens.access_token, validated.sub, fetch)
        claims = {**extra, **claims}  # the signed ID token's claims win
    return validated, claims


def hinted(return_to: str, email: str, organization: str | None = None) -> str:
    """The authorization request ``return_to`` with ``login_hint`` set to ``email`` (and
    ``organization``, when given)."""
    parts = urlsplit(return_to)
    drop = ("login_hint", "organization")
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in drop]
    extra = [("login_hint", email)] + ([("organization", organization)] if organization else [])
    return parts.path + "?" + urlencode([*pairs, *extra])


async def finish_login(
    rt: Runtime,
    connection_id: str,
    params: Mapping[str, str],
    sealed: str | None,
    request_id: str | None = None,
) -> LoginOutcome | SendToSso:
    """Consume the authorization response at the callback and start a session (or, for
    Google, send the person to their organisation's SSO). ``params``: the callback's query;
    ``sealed``: the browser's cookie named by its ``state``."""
    now = rt.clock()
    conn = await load_rp(rt, connection_id)
    google_sign_in = conn.id == GOOGLE
    tenant_id = conn.tenant_id or None
    actor = Actor("google" if google_sign_in else "oidc", conn.id, tenant_id)
    action = "sso.google.login" if google_sign_in else "sso.oidc.login"
    rec = AuditRecord(action, "oidc_connection", conn.id, tenant_id, request_id=request_id)
    try:
        pending = _pending(rt, conn, params.get("state"), sealed, now)
        rec.diff = {"sign_in.started": {"before": None, "after": pending.created_at.isoformat()}}
        meta = await metadata(rt, conn)
        check_iss_parameter(meta, params.get("iss"))
        if "error" in params:
            error = params["error"][:128]
            described = params.get("error_description", "")[:512]
            raise LoginRefused(
                "idp_error",
                f"Your identity provider did not sign you in ({error}). {described}".strip(),
                400,
                {"error": error, "error_description": described},
            )
        code = params.get("code")
        if not code:
            raise _fail("code_missing")
        validated, claims = await redeem_code(rt, conn, pending, code, now)
        sub, sid = validated.sub, validated.sid
        attributes = claims_as_attributes(claims)
        try:
            email = verified_email(
                attributes, claims, conn.claim_map, require_verified=google_sign_in
            )
        except EmailNotVerified as exc:
            raise LoginRefused("email_not_verified", "Your email address is not verified.") from exc
        routed = None
        if google_sign_in:
            if email is None:
                raise LoginRefused("email_missing", "Google did not share your email address.")
            routed = await google.route(rt, email, claims)
            rec.tenant_id = routed.tenant_id
            if routed.enforce_sso:
                rec.reason = "sent_to_sso"
                await record_failure(rt.db, actor, rec, now)
                return SendToSso(hinted(pending.return_to, email, routed.tenant_slug))
        async with rt.db.write() as s:
            tenant_id = conn.tenant_id if routed is None else await google.tenant_of(s, routed, now)
            rec.tenant_id = tenant_id
            key = validated.replay_key  # issuer and signed part: oidc/claims.py replay_key
            until = validated.expires_at + timedelta(seconds=rt.settings.oidc_clock_skew_seconds)
            if not await remember_once(s, OIDC_TOKENS, conn.id, key, until, now):
                raise _fail("id_token_replayed")
            found: Identity | None = await find_oidc_user(s, tenant_id, conn.match_by, sub, email)
            if found is None:
                jit = conn.jit and (not google_sign_in or await google.may_join(s, tenant_id))
                if not jit:
                    raise LoginRefused("unknown_user", "You have no account on this platform yet.")
                if not email:
                    raise LoginRefused("jit_without_email", "Your account could not be created.")
                try:
                    # Google: the Workspace ``hd`` routed the person here (signin/google.py)
                    vouched = google.domains_of(email, claims) if google_sign_in else ()
                    found = await provision(
                        s, tenant_id, email, attributes, conn.claim_map, now, vouched
                    )
                except JitRefused as exc:
                    raise LoginRefused(exc.reason, exc.detail) from exc
            user, tenant = found
            rec.target_type, rec.target_id = "user", user.id
            _refuse_inactive(user)
            groups = values_of(attributes, conn.claim_map, "groups")
            department = first_value(attributes, conn.claim_map, "department")
            await seen_at_sign_in(s, tenant_id, user.id, groups, department, now)
            staged = await rt.sessions.stage(
                s,
                SessionDraft(
                    tenant_id=tenant_id,
                    user_id=user.id,
                    auth_method="google" if google_sign_in else "oidc",
                    connection_id=conn.id,
                    name_id=sub,
                    session_index=sid or None,
                    authenticated_at=min(validated.auth_time, now) if validated.auth_time else None,
                    user_epoch=user.revocation_epoch,
                ),
                now,
            )
            rec.diff["session"] = {"before": None, "after": staged.id}
            await insert_success(s, actor, rec, now)
    except OidcError as exc:
        details = {"stage": exc.stage, **exc.details}
        refused = LoginRefused(exc.reason, "The sign-in response was not accepted.", 400, details)
        await _audit_refusal(rt, actor, rec, refused, now)
        raise refused from exc
    except OutboundError as exc:
        refused = LoginRefused(
            "idp_unreachable",
            "Your identity provider could not be reached.",
            502,
            {"error": str(exc)},
        )
        await _audit_refusal(rt, actor, rec, refused, now)
        raise refused from exc
    except LoginRefused as exc:
        await _audit_refusal(rt, actor, rec, exc, now)
        raise
    except PropylonError as exc:
        rec.reason = exc.detail
        await record_failure(rt.db, actor, rec, now)
        raise
    issued = await rt.sessions.publish(staged, now)  # after the commit
    return LoginOutcome(issued, pending.return_to, ActiveSession(staged.record, user, tenant))


async def _audit_refusal(
    rt: Runtime, actor: Actor, rec: AuditRecord, exc: LoginRefused, now: datetime
) -> None:
    rec.reason, rec.status = exc.reason, exc.status
    if exc.details:
        rec.diff = {**(rec.diff or {}), "refusal": {"before": None, "after": exc.details}}
    await record_failure(rt.db, actor, rec, now)
