"""Web Browser SSO over SAML 2.0 (SAML Profiles §4.1), from AuthnRequest to session.

:func:`start_login` sends the person to the IdP with an AuthnRequest over HTTP-Redirect
(Bindings §3.4). It writes nothing on the server: the pending login (the AuthnRequest's ID,
the authorization request to resume, ``ForceAuthn`` and when it was sent) is sealed into a
cookie of the starting browser, named after the RelayState
(:mod:`propylon.sessions.pending_cookie`). :func:`finish_login` accepts the answer to a
pending login only with that cookie, so only in the browser that started it (no login CSRF),
only the answer to that very AuthnRequest (InResponseTo) and only before it expires;
:func:`propylon.saml.validate_response` is pure, a replayed assertion id is refused through
the database (:mod:`propylon.signin.saml_replay`). Then it finds the tenant's directory
user (or provisions one just-in-time where the connection allows:
:mod:`propylon.signin.saml_users`), refuses deactivated and
deprovisioned users, decides where an IdP-initiated login lands
(:mod:`propylon.signin.landing`), and starts a session.
Every outcome of the ACS goes to the audit trail, a successful login's entry saying which
AuthnRequest it answered and when that was sent; the person sees only a plain page.

The session is staged in the same transaction as the JIT user and the audit entry, and
published only after that transaction committed (see :mod:`propylon.sessions.store`): with
Redis sessions, a sign-in that rolls back leaves no session behind. If publishing then fails
(Redis unreachable), the person sees an error and signs in again; the audit entry of the
committed sign-in names a session that never became usable, which is the safe way round.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from propylon.audit import Actor, AuditRecord, record_failure
from propylon.audit.log import insert_success
from propylon.entitlements.signin import seen_at_sign_in
from propylon.errors import InvalidInput, PropylonError
from propylon.runtime import Runtime
from propylon.saml import (
    Assertion,
    SamlValidationError,
    ValidationPolicy,
    validate_response,
)
from propylon.saml.messages import build_authn_request, new_id
from propylon.saml.redirect import encode_redirect_url
from propylon.sessions.pending_cookie import (
    COOKIE_PREFIX,
    PendingLogin,
    SameSite,
    cookie_name,
    cookie_path,
    new_relay_state,
)
from propylon.sessions.service import (
    ActiveSession,
    IssuedSession,
    SessionDraft,
    SessionUser,
)
from propylon.signin.landing import NoLandingApp, idp_initiated_landing
from propylon.signin.saml_diagnosis import login_diagnosis
from propylon.signin.saml_replay import remember_assertion
from propylon.signin.saml_users import find_user, provision_just_in_time
from propylon.signin.user_match import JitRefused, first_value
from propylon.tenants.attribute_maps import values_of
from propylon.tenants.saml_connections import ConnectionRecord, load_connection, sp_urls


class LoginRefused(PropylonError):
    """A sign-in was refused. ``reason`` is for the audit trail; ``detail`` for the person."""

    def __init__(
        self, reason: str, detail: str, status: int = 403, details: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(detail)
        self.reason = reason
        self.status = status
        self.details = dict(details or {})  # for the audit entry (signin/saml_diagnosis.py)


@dataclass(frozen=True)
class StartedLogin:
    """Where the browser goes (the IdP, with the AuthnRequest or OpenID Connect
    authentication request) and the cookie it keeps the pending login in until it comes
    back (:mod:`propylon.sessions.pending_cookie`)."""

    url: str
    cookie_name: str
    cookie_value: str
    cookie_path: str
    max_age: int
    same_site: SameSite = "none"


@dataclass(frozen=True)
class LoginOutcome:
    session: IssuedSession
    redirect_to: str
    """The authorization request the login answers: the pending one, or for an
    IdP-initiated login one of the app it lands in."""
    login: ActiveSession
    """The new session with its user and tenant, as the authorization request needs it."""


def policy_of(rt: Runtime, conn: ConnectionRecord) -> ValidationPolicy:
    s = rt.settings
    return ValidationPolicy(
        sp_entity_id=conn.sp_entity_id,
        acs_url=sp_urls(s.public_url, conn.id)["acs_url"],
        clock_skew=timedelta(seconds=s.saml_clock_skew_seconds),
        allow_idp_initiated=conn.allow_idp_initiated,
        allow_sha1=s.saml_allow_sha1,
        max_bytes=s.saml_max_response_bytes,
    )


def is_local_authorize(return_to: str) -> bool:
    """Only the platform's own authorization endpoint may be resumed (no open redirect)."""
    return return_to.startswith("/oauth2/authorize?") and "\\" not in return_to


async def start_login(
    rt: Runtime, connection_id: str, return_to: str, *, force_authn: bool = False
) -> StartedLogin:
    """The IdP URL carrying a fresh AuthnRequest (SAML Core §3.4.1, Bindings §3.4), and the
    cookie that binds it to this browser; ``force_authn``: the IdP must authenticate the
    person anew, not from its own session. Reads (the connection), writes nothing.
    :class:`~propylon.sessions.pending_cookie.CookieTooLarge` for an overlong request."""
    if not is_local_authorize(return_to):
        raise InvalidInput("sign-in must start from the authorization endpoint")
    conn = rt.sign_in.connections.get(connection_id)
    if conn is None:
        async with rt.db.read() as s:
            conn = await load_connection(s, connection_id)
        rt.sign_in.connections.put(connection_id, conn)
    return begin_login(rt, conn, return_to, force_authn=force_authn)


def begin_login(
    rt: Runtime,
    conn: ConnectionRecord,
    return_to: str,
    *,
    force_authn: bool = False,
    test_id: str | None = None,
) -> StartedLogin:
    """The AuthnRequest of :func:`start_login` on a loaded connection; ``test_id``: a test
    connection's login (``signin/connection_test.py``), which may use a disabled connection
    and is answered with the test's result, never a session."""
    now = rt.clock()
    lifetime = rt.settings.saml_request_lifetime_seconds
    relay = new_relay_state()
    pending = PendingLogin(
        request_id=new_id(),
        connection_id=conn.id,
        return_to=return_to,
        force_authn=force_authn,
        created_at=now,
        expires_at=now + timedelta(seconds=lifetime),
        test_id=test_id,
    )
    acs_url = sp_urls(rt.settings.public_url, conn.id)["acs_url"]
    sealed = rt.pending_logins.seal(relay, pending)
    message = build_authn_request(
        request_id=pending.request_id,
        issue_instant=now,
        sp_entity_id=conn.sp_entity_id,
        acs_url=acs_url,
        destination=conn.sso_url,
        force_authn=force_authn,
    )
    key = rt.saml_keys.private_key(conn) if conn.sign_requests else None
    url = encode_redirect_url(conn.sso_url, message, relay_state=relay, signing_key=key)
    return StartedLogin(url, COOKIE_PREFIX + relay, sealed, cookie_path(acs_url), lifetime)


def open_pending(
    rt: Runtime, relay_state: str, sealed: str | None, connection_id: str, kind: str, now: datetime
) -> PendingLogin:
    """The pending login of this browser's cookie ``sealed`` named by ``relay_state`` (a
    SAML RelayState or an OpenID Connect ``state``), of protocol ``kind``, on this connection,
    not expired. A login started in another browser (no such cookie here) is refused."""
    if sealed is None:
        raise LoginRefused(
            "not_started_in_this_browser",
            "This sign-in was started in another browser, or is already finished. "
            "Sign in again from your application, in this browser.",
            400,
        )
    pending = rt.pending_logins.open(relay_state, sealed)
    if (
        pending is None
        or pending.connection_id != connection_id
        or pending.kind != kind
        or pending.test_id is not None  # a test's answer never signs anyone in
    ):
        raise LoginRefused(
            "pending_login_invalid", "This sign-in could not be checked. Sign in again.", 400
        )
    if pending.expires_at <= now:
        raise LoginRefused("request_used_or_expired", "This sign-in link has expired.", 400)
    return pending


def _pending(
    rt: Runtime,
    conn: ConnectionRecord,
    relay_state: str | None,
    sealed: str | None,
    now: datetime,
) -> PendingLogin | None:
    """The pending login a RelayState of ours names (:func:`open_pending`); None for a
    RelayState not of ours (IdP-initiated: its own rules)."""
    if relay_state is None or cookie_name(relay_state) is None:
        return None
    return open_pending(rt, relay_state, sealed, conn.id, "saml", now)


def _check_fresh(rt: Runtime, pending: PendingLogin | None, assertion: Assertion) -> None:
    """An AuthnRequest with ``ForceAuthn`` (SAML Core §3.4.1) is answered only by an
    authentication made after it was sent (within the clock skew): an IdP that signs the
    person in from its own older session has not done what was asked."""
    if pending is None or not pending.force_authn:
        return
    skew = timedelta(seconds=rt.settings.saml_clock_skew_seconds)
    if assertion.authn_instant < pending.created_at - skew:
        raise LoginRefused(
            "authn_not_fresh", "Your identity provider did not ask you to sign in again.", 400
        )


def _validate(
    rt: Runtime,
    conn: ConnectionRecord,
    saml_response: str,
    pending: PendingLogin | None,
    now: datetime,
) -> Assertion:
    """Validate the Response as the answer to ``pending`` (or unsolicited)."""
    try:
        return validate_response(
            saml_response,
            trust=rt.saml_keys.trust(conn),
            policy=policy_of(rt, conn),
            expected_request_id=pending.request_id if pending else None,
            now=now,
            sp_decryption_key=rt.saml_keys.private_key(conn),
        )
    except SamlValidationError as exc:
        details = {"stage": exc.stage, **exc.details}
        detail = "The sign-in response was not accepted."
        raise LoginRefused(exc.reason.value, detail, 400, details) from exc


async def _remember(
    s: AsyncSession, conn: ConnectionRecord, assertion: Assertion, now: datetime
) -> None:
    """SAML Profiles §4.1.4.5: an assertion id is accepted once while it could be valid,
    recorded in the sign-in's transaction (:mod:`propylon.signin.saml_replay`)."""
    until = assertion.replay_cache_until
    if not await remember_assertion(s, conn.id, assertion.assertion_id, until, now):
        raise LoginRefused("assertion_replayed", "This sign-in response was already used.", 400)


def _refuse_inactive(user: SessionUser) -> None:
    """A deactivated or deprovisioned user signs in with no assertion, however valid."""
    if user.deleted_at is not None:
        raise LoginRefused("user_deprovisioned", "Your account is no longer active.")
    if not user.active:
        raise LoginRefused("user_deactivated", "Your account is deactivated.")


async def _landing(s: AsyncSession, conn: ConnectionRecord) -> str:
    try:
        return await idp_initiated_landing(s, conn)
    except NoLandingApp as exc:
        raise LoginRefused(exc.reason, exc.detail, 400) from exc


def _started(pending: PendingLogin | None) -> dict[str, dict[str, object]]:
    """What the audit entry of a login says about its start (the start itself is not
    audited: it writes nothing): the AuthnRequest it answers and when that was sent."""
    if pending is None:
        return {"sign_in.started": {"before": None, "after": "idp_initiated"}}
    return {
        "sign_in.started": {"before": None, "after": pending.created_at.isoformat()},
        "sign_in.authn_request_id": {"before": None, "after": pending.request_id},
        "sign_in.force_authn": {"before": None, "after": pending.force_authn},
    }


async def finish_login(
    rt: Runtime,
    connection_id: str,
    saml_response: str,
    relay_state: str | None,
    pending_cookie: str | None,
    request_id: str | None = None,
) -> LoginOutcome:
    """Consume a Response at the ACS (SAML Profiles §4.1.4.3-5) and start a session.
    ``pending_cookie``: the browser's cookie named by ``relay_state``
    (:func:`propylon.sessions.pending_cookie.cookie_name`), if it sent one; ``request_id``
    (the HTTP request's, shown on the error page) goes to the audit entry."""
    now = rt.clock()
    async with rt.db.read() as s:
        conn = await load_connection(s, connection_id)
    actor = Actor("saml", conn.id, conn.tenant_id)
    rec = AuditRecord(
        "sso.saml.login", "saml_connection", conn.id, conn.tenant_id, request_id=request_id
    )
    assertion: Assertion | None = None
    try:
        pending = _pending(rt, conn, relay_state, pending_cookie, now)
        rec.diff = _started(pending)
        assertion = _validate(rt, conn, saml_response, pending, now)
        _check_fresh(rt, pending, assertion)
        async with rt.db.write() as s:
            await _remember(s, conn, assertion, now)
            found, email = await find_user(s, conn, assertion)
            if found is not None:
                _refuse_inactive(found[0])
                rec.target_type, rec.target_id = "user", found[0].id
            redirect_to = pending.return_to if pending else await _landing(s, conn)
            if found is None:
                if not conn.jit:
                    raise LoginRefused("unknown_user", "You have no account on this platform yet.")
                if not email:
                    raise LoginRefused("jit_without_email", "Your account could not be created.")
                try:
                    found = await provision_just_in_time(s, conn, assertion, email, now)
                except JitRefused as exc:
                    raise LoginRefused(exc.reason, exc.detail) from exc
                rec.target_type, rec.target_id = "user", found[0].id
            user, tenant = found
            groups = values_of(assertion.attributes, conn.attribute_map, "groups")
            department = first_value(assertion.attributes, conn.attribute_map, "department")
            await seen_at_sign_in(s, conn.tenant_id, user.id, groups, department, now)
            staged = await rt.sessions.stage(
                s,
                SessionDraft(
                    tenant_id=conn.tenant_id,
                    user_id=user.id,
                    auth_method="saml",
                    connection_id=conn.id,
                    name_id=assertion.name_id,
                    session_index=assertion.session_index,
                    not_on_or_after=assertion.session_not_on_or_after,
                    authenticated_at=assertion.authn_instant,
                    user_epoch=user.revocation_epoch,
                    name_id_format=assertion.name_id_format,
                    name_qualifier=assertion.name_id_name_qualifier,
                    sp_name_qualifier=assertion.name_id_sp_name_qualifier,
                ),
                now,
            )
            rec.diff["session"] = {"before": None, "after": staged.id}
            await insert_success(s, actor, rec, now)
    except LoginRefused as exc:
        rec.reason, rec.status = exc.reason, exc.status
        rec.diff = {
            **(rec.diff or {}),
            "diagnosis": login_diagnosis(exc.reason, exc.details, conn, assertion),
        }
        await record_failure(rt.db, actor, rec, now)
        raise
    except PropylonError as exc:
        rec.reason = exc.detail
        await record_failure(rt.db, actor, rec, now)
        raise
    issued = await rt.sessions.publish(staged, now)  # after the commit: see the module doc
    return LoginOutcome(issued, redirect_to, ActiveSession(staged.record, user, tenant))
