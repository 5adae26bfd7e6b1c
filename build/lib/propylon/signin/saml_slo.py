"""SAML 2.0 Single Logout (SAML Profiles §4.4) over HTTP-Redirect, per connection.

Sessions end through the runtime's session store (database or Redis,
:mod:`propylon.sessions.store`); their codes' and refresh tokens' next use then finds no
active session and is refused.

SP-initiated (:func:`start_logout` at ``/saml/{id}/logout``; :func:`continue_to_idp` after
an RP-initiated logout at ``/oauth2/logout``): the local session ends at once; if it came
from a SAML login on a connection that has an IdP SLO endpoint, a ``LogoutRequest`` naming
the session's NameID (with the assertion's Format and qualifiers) and SessionIndex is sent
there, signed over the redirect query with the connection's SP key. Its ID is remembered in
``saml_requests`` (stored as its SHA-256, with the ``return_to``) so the IdP's
``LogoutResponse`` is accepted only as the answer to that very request, once; the person then
goes on to ``return_to``.

IdP-initiated (:func:`handle_slo` with ``SAMLRequest``): the query signature must verify
against the connection's pinned certificates (an unsigned request is refused), the matching
sessions end (by NameID and SessionIndex), and a ``LogoutResponse`` signed with the SP key
goes back to the IdP's SLO ``ResponseLocation`` (or ``Location``).

Every outcome goes to the audit trail as ``sso.saml.logout``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.audit import Actor, AuditRecord, record, record_failure
from propylon.db.tables_saml import SamlRequest
from propylon.errors import NotFound, PropylonError
from propylon.runtime import Runtime
from propylon.saml import SamlValidationError
from propylon.saml.messages import (
    build_logout_request,
    build_logout_response,
    new_id,
    parse_logout_request,
    parse_logout_response,
)
from propylon.saml.redirect import (
    decode_redirect_message,
    encode_redirect_url,
    verify_redirect_signature,
)
from propylon.saml.xml import secure_fromstring
from propylon.sessions.service import SessionRecord, session_id_for, usable_handle
from propylon.signin.saml_replay import remember_assertion
from propylon.tenants.credentials import hash_secret
from propylon.tenants.saml_connections import (
    ConnectionRecord,
    load_connection,
    slo_response_url,
    sp_urls,
)

LOGOUT_REQUEST_LIFETIME = timedelta(minutes=10)
MAX_MESSAGE_BYTES = 64 * 1024
ACTION = "sso.saml.logout"


class LogoutRefused(PropylonError):
    """A logout message was refused. ``reason`` is for the audit trail."""

    def __init__(self, reason: str, detail: str, status: int = 400) -> None:
        super().__init__(detail)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class LogoutOutcome:
    redirect_to: str | None
    """Where the browser goes next (IdP SLO endpoint or ``return_to``); ``None``: a page."""
    complete: bool = True
    """``False`` when the IdP reported it could not end its own session."""


def safe_return_to(value: str) -> str:
    """Only a path on this server (no open redirect)."""
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value[:2048]
    return ""


def _pending_key(request_id: str) -> str:
    return hash_secret(request_id)


def _to_idp(conn: ConnectionRecord, row: SessionRecord) -> bool:
    """Whether the session came from a SAML login on ``conn`` whose IdP has an SLO URL."""
    return (
        row.auth_method == "saml"
        and row.connection_id == conn.id
        and bool(row.name_id)
        and bool(conn.slo_url)
    )


def request_idp_logout(
    rt: Runtime,
    s: AsyncSession,
    conn: ConnectionRecord,
    row: SessionRecord,
    return_to: str,
    now: datetime,
) -> str | None:
    """The IdP SLO URL carrying a signed ``LogoutRequest`` for the session ``row``
    (Profiles §4.4.3.1), or ``None`` when the session did not come from this connection's
    IdP or it has no SLO endpoint. The request is remembered in ``s`` with ``return_to``
    (where the person goes once the IdP answered; the caller has validated it), so the
    ``LogoutResponse`` is accepted only as the answer to it, once. The NameID is named with
    the Format and qualifiers of the assertion (Core §3.7.1, §2.2.3)."""
    if not _to_idp(conn, row) or not conn.slo_url or not row.name_id:
        return None
    request_id = new_id()
    s.add(
        SamlRequest(
            id=_pending_key(request_id),
            connection_id=conn.id,
            relay_state_hash=hash_secret("slo:" + request_id),
            return_to=return_to,
            created_at=now,
            expires_at=now + LOGOUT_REQUEST_LIFETIME,
        )
    )
    message = build_logout_request(
        request_id=request_id,
        issue_instant=now,
        sp_entity_id=conn.sp_entity_id,
        destination=conn.slo_url,
        name_id=row.name_id,
        name_id_format=row.name_id_format,
        name_qualifier=row.name_qualifier,
        sp_name_qualifier=row.sp_name_qualifier,
        session_index=row.idp_session_index,
    )
    key = rt.saml_keys.private_key(conn)
    return encode_redirect_url(conn.slo_url, message, signing_key=key)


async def continue_to_idp(
    rt: Runtime, s: AsyncSession, row: SessionRecord, return_to: str, now: datetime
) -> str | None:
    """For a session just ended elsewhere (RP-initiated logout): the IdP SLO URL to send the
    person on to, so the IdP's session ends too (:func:`request_idp_logout`), audited;
    ``None`` if the session did not come through SAML or its IdP has no SLO endpoint."""
    if row.auth_method != "saml" or row.connection_id is None or not row.name_id:
        return None
    try:
        conn = await load_connection(s, row.connection_id)
    except NotFound:
        return None  # the connection is gone: nothing to continue to
    url = request_idp_logout(rt, s, conn, row, return_to, now)
    if url is not None:
        rec = AuditRecord(ACTION, "user", row.user_id, conn.tenant_id)
        rec.reason = "rp_initiated_sent_to_idp"
        rec.diff = {"session": {"before": row.id, "after": None}}
        record(s, Actor("saml", conn.id, conn.tenant_id), rec, now)
    return url


async def start_logout(
    rt: Runtime, connection_id: str, handle: str | None, return_to: str
) -> LogoutOutcome:
    """End the cookie's session here and, when possible, at the IdP (Profiles §4.4.3.1)."""
    now = rt.clock()
    return_to = safe_return_to(return_to)
    async with rt.db.read() as s:
        conn = await load_connection(s, connection_id)
    actor = Actor("saml", conn.id, conn.tenant_id)
    rec = AuditRecord(ACTION, "saml_connection", conn.id, conn.tenant_id)
    row: SessionRecord | None = None
    url: str | None = None
    async with rt.db.write() as s:
        if usable_handle(handle):
            row = await rt.sessions.get(s, session_id_for(handle))
        if row is None or row.tenant_id != conn.tenant_id:
            rec.reason, rec.status = "sp_initiated_no_session", 200
        else:
            ended = await rt.sessions.end(s, row.id, now)
            rec.target_type, rec.target_id = "user", row.user_id
            rec.diff = {"session": {"before": row.id if ended else None, "after": None}}
            url = request_idp_logout(rt, s, conn, row, return_to, now)
            rec.reason = "sp_initiated_sent_to_idp" if url else "sp_initiated_local_only"
        record(s, actor, rec, now)
    return LogoutOutcome(url or return_to or None)


def _raw_params(query_string: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in query_string.split("&"):
        key, _, value = part.partition("=")
        out.setdefault(key, value)
    return out


async def handle_slo(rt: Runtime, connection_id: str, query_string: str) -> LogoutOutcome:
    """A message from the IdP at the SLO endpoint (HTTP-Redirect, Bindings §3.4)."""
    now = rt.clock()
    async with rt.db.read() as s:
        conn = await load_connection(s, connection_id)
    actor = Actor("saml", conn.id, conn.tenant_id)
    rec = AuditRecord(ACTION, "saml_connection", conn.id, conn.tenant_id)
    try:
        if len(query_string) > 4 * MAX_MESSAGE_BYTES:
            raise LogoutRefused("too_large", "The sign-out message is too large.", 413)
        params = _raw_params(query_string)
        if "SAMLRequest" in params and "SAMLResponse" in params:
            raise LogoutRefused("message_invalid", "The sign-out message was not understood.")
        if "SAMLRequest" in params:
            rec.reason = "idp_initiated"
            return await _idp_initiated(rt, conn, query_string, actor, rec, now)
        if "SAMLResponse" in params:
            rec.reason = "sp_initiated_completed"
            return await _logout_response(rt, conn, query_string, actor, rec, now)
        raise LogoutRefused("message_missing", "The sign-out message is missing.")
    except SamlValidationError as exc:
        rec.reason, rec.status = exc.reason.value, 400
        await record_failure(rt.db, actor, rec, now)
        raise LogoutRefused(exc.reason.value, "The sign-out message was not accepted.") from exc
    except LogoutRefused as exc:
        rec.reason, rec.status = exc.reason, exc.status
        await record_failure(rt.db, actor, rec, now)
        raise


def _verified_message(
    rt: Runtime, conn: ConnectionRecord, query_string: str, param: str
) -> tuple[bytes, str]:
    """Check the query signature against the pinned certificates; the inflated message."""
    params = verify_redirect_signature(query_string, rt.saml_keys.trust(conn).public_keys)
    raw = decode_redirect_message(params[param], max_bytes=MAX_MESSAGE_BYTES)
    return raw, params.get("RelayState", "")


async def _idp_initiated(
    rt: Runtime,
    conn: ConnectionRecord,
    query_string: str,
    actor: Actor,
    rec: AuditRecord,
    now: datetime,
) -> LogoutOutcome:
    raw, relay = _verified_message(rt, conn, query_string, "SAMLRequest")
    slo_url = sp_urls(rt.settings.public_url, conn.id)["slo_url"]
    message = parse_logout_request(
        raw,
        trust=rt.saml_keys.trust(conn),
        slo_url=slo_url,
        now=now,
        redirect_signature_verified=True,
        allow_sha1=rt.settings.saml_allow_sha1,
        clock_skew=timedelta(seconds=rt.settings.saml_clock_skew_seconds),
        max_bytes=MAX_MESSAGE_BYTES,
    )
    destination = slo_response_url(conn)
    if destination is None:
        raise LogoutRefused("no_idp_slo_endpoint", "Single sign-out is not set up.")
    async with rt.db.write() as s:
        # SAML Core §3.7.3.2: a LogoutRequest is processed once; remembered in the database
        # with the accepted assertion ids (durable across a Redis restart), in this transaction
        seen = "logout-request:" + message.request_id
        if not await remember_assertion(s, conn.id, seen, now + LOGOUT_REQUEST_LIFETIME, now):
            raise LogoutRefused("logout_request_replayed", "This sign-out was already done.")
        ended = 0
        for index in message.session_indexes or (None,):
            ended += await rt.sessions.end_for(s, conn.id, message.name_id, index, now)
        response = build_logout_response(
            response_id=new_id(),
            issue_instant=now,
            sp_entity_id=conn.sp_entity_id,
            destination=destination,
            in_response_to=message.request_id,
        )
        rec.diff = {"sessions_ended": {"before": None, "after": ended}}
        record(s, actor, rec, now)
    url = encode_redirect_url(
        destination,
        response,
        param="SAMLResponse",
        relay_state=relay or None,
        signing_key=rt.saml_keys.private_key(conn),
    )
    return LogoutOutcome(url)


async def _logout_response(
    rt: Runtime,
    conn: ConnectionRecord,
    query_string: str,
    actor: Actor,
    rec: AuditRecord,
    now: datetime,
) -> LogoutOutcome:
    raw, _relay = _verified_message(rt, conn, query_string, "SAMLResponse")
    in_response_to = secure_fromstring(raw, MAX_MESSAGE_BYTES).get("InResponseTo") or ""
    if not in_response_to or len(in_response_to) > 256:
        raise LogoutRefused("unsolicited_logout_response", "This sign-out was not started here.")
    key = _pending_key(in_response_to)
    async with rt.db.read() as s:
        pending = await s.scalar(
            select(SamlRequest).where(
                SamlRequest.id == key,
                SamlRequest.connection_id == conn.id,
                SamlRequest.relay_state_hash == hash_secret("slo:" + in_response_to),
            )
        )
    if pending is None:
        raise LogoutRefused("unsolicited_logout_response", "This sign-out was not started here.")
    if pending.consumed_at is not None or pending.expires_at <= now:
        raise LogoutRefused("request_used_or_expired", "This sign-out link has expired.")
    complete = True
    try:
        parse_logout_response(
            raw,
            trust=rt.saml_keys.trust(conn),
            slo_url=sp_urls(rt.settings.public_url, conn.id)["slo_url"],
            expected_request_id=in_response_to,
            redirect_signature_verified=True,
            allow_sha1=rt.settings.saml_allow_sha1,
            max_bytes=MAX_MESSAGE_BYTES,
        )
    except SamlValidationError as exc:
        if exc.reason.value != "status_not_success":
            raise
        complete = False  # the local session is already gone; the IdP's may remain
        rec.reason = "sp_initiated_idp_partial"
    async with rt.db.write() as s:
        done = await s.execute(
            update(SamlRequest)
            .where(SamlRequest.id == key, SamlRequest.consumed_at.is_(None))
            .values(consumed_at=now)
        )
        if not getattr(done, "rowcount", 0):
            raise LogoutRefused("request_used_or_expired", "This sign-out link has expired.")
        record(s, actor, rec, now)
    return LogoutOutcome(pending.return_to or None, complete)
