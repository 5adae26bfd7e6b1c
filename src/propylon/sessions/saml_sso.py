"""Web Browser SSO over SAML 2.0 (SAML Profiles §4.1), from AuthnRequest to session.

:func:`start_login` sends the person to the IdP with an AuthnRequest over HTTP-Redirect
(Bindings §3.4). Its ID is remembered with a RelayState handle (stored hashed) that names the
pending authorization request, so :func:`finish_login` accepts only the answer to that very
AuthnRequest (InResponseTo), once. :func:`finish_login` validates the Response with the pure
:func:`propylon.saml.validate_response`, refuses a replayed assertion id through the
database, finds the tenant's directory user (or provisions one just-in-time where the
connection allows: :mod:`propylon.sessions.saml_users`), refuses deactivated and
deprovisioned users, decides where an IdP-initiated login lands
(:mod:`propylon.sessions.landing`), and starts a session.
Every outcome goes to the audit trail; the person sees only a plain page.

The session is staged in the same transaction as the consumed AuthnRequest, the JIT user and
the audit entry, and published only after that transaction committed (see
:mod:`propylon.sessions.store`): with Redis sessions, a sign-in that rolls back leaves no
session behind. If publishing then fails (Redis unreachable), the person sees an error and
signs in again; the audit entry of the committed sign-in names a session that never became
usable, which is the safe way round.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.audit import Actor, AuditRecord, record_failure
from propylon.audit import log as audit_log
from propylon.audit.log import insert_success
from propylon.db.tables import core
from propylon.db.tables_saml import SamlConnection, SamlRequest
from propylon.directory.events import Outbox, Row
from propylon.errors import InvalidInput, NotFound, PropylonError
from propylon.runtime import Runtime
from propylon.saml import (
    Assertion,
    SamlValidationError,
    ValidationPolicy,
    validate_response,
)
from propylon.saml.messages import build_authn_request, new_id
from propylon.saml.redirect import encode_redirect_url
from propylon.sessions.landing import NoLandingApp, idp_initiated_landing
from propylon.sessions.saml_diagnosis import login_diagnosis
from propylon.sessions.saml_replay import remember_assertion
from propylon.sessions.saml_users import find_user, provision_just_in_time
from propylon.sessions.service import (
    ActiveSession,
    IssuedSession,
    SessionDraft,
    SessionUser,
)
from propylon.tenants.credentials import hash_secret
from propylon.tenants.saml_connections import (
    CONNECTION_COLUMNS,
    ConnectionRecord,
    connection_record,
    load_connection,
    sp_urls,
)

REQUEST_LIFETIME = timedelta(minutes=10)

_CONNECTIONS, _REQUESTS = core(SamlConnection), core(SamlRequest)
# The ACS reads the connection and the AuthnRequest its RelayState names in one statement;
# the request's columns are NULL when there is none (or no RelayState: a NULL hash).
_CONNECTION_AND_PENDING = (
    select(
        *CONNECTION_COLUMNS,
        _REQUESTS.c.id,
        _REQUESTS.c.return_to,
        _REQUESTS.c.consumed_at,
        _REQUESTS.c.expires_at,
        _REQUESTS.c.created_at,
        _REQUESTS.c.force_authn,
    )
    .select_from(
        _CONNECTIONS.outerjoin(
            _REQUESTS,
            and_(
                _REQUESTS.c.connection_id == _CONNECTIONS.c.id,
                _REQUESTS.c.relay_state_hash == bindparam("relay_hash"),
            ),
        )
    )
    .where(_CONNECTIONS.c.id == bindparam("connection_id"))
)
_CONSUME = (
    update(_REQUESTS)
    .where(_REQUESTS.c.id == bindparam("request_id"), _REQUESTS.c.consumed_at.is_(None))
    .values(consumed_at=bindparam("now"))
)


class LoginRefused(PropylonError):
    """A sign-in was refused. ``reason`` is for the audit trail; ``detail`` for the person."""

    def __init__(
        self, reason: str, detail: str, status: int = 403, details: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(detail)
        self.reason = reason
        self.status = status
        self.details = dict(details or {})  # for the audit entry (sessions/saml_diagnosis.py)


@dataclass(frozen=True)
class PendingRequest:
    """A pending AuthnRequest (``saml_requests``) as read at the ACS."""

    id: str
    return_to: str
    consumed_at: datetime | None
    expires_at: datetime
    created_at: datetime
    force_authn: bool


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
) -> str:
    """The IdP URL carrying a fresh AuthnRequest (SAML Core §3.4.1, Bindings §3.4);
    ``force_authn``: the IdP must authenticate the person anew, not from its own session."""
    if not is_local_authorize(return_to):
        raise InvalidInput("sign-in must start from the authorization endpoint")
    now = rt.clock()
    relay = secrets.token_urlsafe(32)
    async with rt.db.write() as s:
        conn = rt.sign_in.connections.get(connection_id)
        if conn is None:
            conn = await load_connection(s, connection_id)
            rt.sign_in.connections.put(connection_id, conn)
        request_id = new_id()
        # the pending request and its audit entry: one statement where the backend allows
        written = Outbox(conn.tenant_id)
        request = {
            "id": request_id,
            "connection_id": conn.id,
            "relay_state_hash": hash_secret(relay),
            "return_to": return_to,
            "force_authn": force_authn,
            "created_at": now,
            "expires_at": now + REQUEST_LIFETIME,
            "consumed_at": None,
        }
        written.insert(Row(_REQUESTS, request))
        rec = AuditRecord("sso.saml.start", "saml_connection", conn.id, conn.tenant_id)
        actor = Actor("saml", conn.id, conn.tenant_id)
        written.insert(Row(audit_log.TABLE, audit_log.values(actor, rec, "success", now)))
        await written.flush(s, now)
    message = build_authn_request(
        request_id=request_id,
        issue_instant=now,
        sp_entity_id=conn.sp_entity_id,
        acs_url=sp_urls(rt.settings.public_url, conn.id)["acs_url"],
        destination=conn.sso_url,
        force_authn=force_authn,
    )
    key = rt.saml_keys.private_key(conn.sp_private_key_pem) if conn.sign_requests else None
    return encode_redirect_url(conn.sso_url, message, relay_state=relay, signing_key=key)


async def _read_connection_and_pending(
    s: AsyncSession, connection_id: str, relay_state: str | None
) -> tuple[ConnectionRecord, PendingRequest | None]:
    """The connection (else :class:`NotFound`) and the AuthnRequest the RelayState names on
    it, if any (checked by :func:`_check_pending`)."""
    relay_hash = hash_secret(relay_state) if relay_state and len(relay_state) <= 512 else None
    params = {"connection_id": connection_id, "relay_hash": relay_hash}
    row = (await (await s.connection()).execute(_CONNECTION_AND_PENDING, params)).first()
    if row is None:
        raise NotFound(f"no SAML connection {connection_id!r}")
    pending = tuple(row[len(CONNECTION_COLUMNS) :])
    request = PendingRequest(*pending) if pending[0] is not None else None
    return connection_record(row), request


def _check_pending(req: PendingRequest | None, now: datetime) -> PendingRequest | None:
    if req is not None and (req.consumed_at is not None or req.expires_at <= now):
        raise LoginRefused("request_used_or_expired", "This sign-in link has expired.", 400)
    return req


def _check_fresh(rt: Runtime, pending: PendingRequest | None, assertion: Assertion) -> None:
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
    pending: PendingRequest | None,
    now: datetime,
) -> Assertion:
    """Validate the Response as the answer to ``pending`` (or unsolicited)."""
    try:
        return validate_response(
            saml_response,
            trust=rt.saml_keys.trust(conn),
            policy=policy_of(rt, conn),
            expected_request_id=pending.id if pending else None,
            now=now,
            sp_decryption_key=rt.saml_keys.private_key(conn.sp_private_key_pem),
        )
    except SamlValidationError as exc:
        details = {"stage": exc.stage, **exc.details}
        detail = "The sign-in response was not accepted."
        raise LoginRefused(exc.reason.value, detail, 400, details) from exc


async def _remember(
    s: AsyncSession, conn: ConnectionRecord, assertion: Assertion, now: datetime
) -> None:
    """SAML Profiles §4.1.4.5: an assertion id is accepted once while it could be valid,
    recorded in the sign-in's transaction (:mod:`propylon.sessions.saml_replay`)."""
    until = assertion.replay_cache_until
    if not await remember_assertion(s, conn.id, assertion.assertion_id, until, now):
        raise LoginRefused("assertion_replayed", "This sign-in response was already used.", 400)


async def _consume(s: AsyncSession, pending: PendingRequest, now: datetime) -> None:
    done = await (await s.connection()).execute(_CONSUME, {"request_id": pending.id, "now": now})
    if not getattr(done, "rowcount", 0):
        raise LoginRefused("request_used_or_expired", "This sign-in link has expired.", 400)


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


async def finish_login(
    rt: Runtime,
    connection_id: str,
    saml_response: str,
    relay_state: str | None,
    request_id: str | None = None,
) -> LoginOutcome:
    """Consume a Response at the ACS (SAML Profiles §4.1.4.3-5) and start a session;
    ``request_id`` (the HTTP request's, shown on the error page) goes to the audit entry."""
    now = rt.clock()
    async with rt.db.read() as s:
        conn, pending_read = await _read_connection_and_pending(s, connection_id, relay_state)
    actor = Actor("saml", conn.id, conn.tenant_id)
    rec = AuditRecord(
        "sso.saml.login", "saml_connection", conn.id, conn.tenant_id, request_id=request_id
    )
    assertion: Assertion | None = None
    try:
        pending = _check_pending(pending_read, now)
        assertion = _validate(rt, conn, saml_response, pending, now)
        _check_fresh(rt, pending, assertion)
        async with rt.db.write() as s:
            await _remember(s, conn, assertion, now)
            if pending is not None:
                await _consume(s, pending, now)
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
                found = await provision_just_in_time(s, conn, assertion, email, now)
                rec.target_type, rec.target_id = "user", found[0].id
            user, tenant = found
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
                ),
                now,
            )
            rec.diff = {"session": {"before": None, "after": staged.id}}
            await insert_success(s, actor, rec, now)
    except LoginRefused as exc:
        rec.reason, rec.status = exc.reason, exc.status
        rec.diff = {"diagnosis": login_diagnosis(exc.reason, exc.details, conn, assertion)}
        await record_failure(rt.db, actor, rec, now)
        raise
    except PropylonError as exc:
        rec.reason = exc.detail
        await record_failure(rt.db, actor, rec, now)
        raise
    issued = await rt.sessions.publish(staged, now)  # after the commit: see the module doc
    return LoginOutcome(issued, redirect_to, ActiveSession(staged.record, user, tenant))
