"""Web Browser SSO over SAML 2.0 (SAML Profiles §4.1), from AuthnRequest to session.

:func:`start_login` sends the person to the IdP with an AuthnRequest over HTTP-Redirect
(Bindings §3.4). Its ID is remembered with a RelayState handle (stored hashed) that names the
pending authorization request, so :func:`finish_login` accepts only the answer to that very
AuthnRequest (InResponseTo), once. :func:`finish_login` validates the Response with the pure
:func:`propylon.saml.validate_response`, refuses a replayed assertion id through the
accelerator, finds the tenant's directory user (or provisions one just-in-time where the
connection allows), refuses deactivated and deprovisioned users, decides where an
IdP-initiated login lands (:mod:`propylon.sessions.landing`), and starts a session.
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
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.audit import Actor, AuditRecord, record, record_failure
from propylon.db.tables import Tenant, User
from propylon.db.tables_saml import SamlConnection, SamlRequest
from propylon.directory.events import Outbox
from propylon.directory.users import UserDraft, create_user
from propylon.errors import InvalidInput, PropylonError
from propylon.runtime import Runtime
from propylon.saml import (
    Assertion,
    IdpTrust,
    SamlValidationError,
    ValidationPolicy,
    validate_response,
)
from propylon.saml.messages import build_authn_request, new_id
from propylon.saml.redirect import encode_redirect_url
from propylon.sessions.landing import NoLandingApp, idp_initiated_landing
from propylon.sessions.service import IssuedSession, SessionDraft
from propylon.tenants.credentials import hash_secret
from propylon.tenants.directories import DirectoryScope
from propylon.tenants.saml_connections import get_connection, sp_urls
from propylon.tenants.saml_keys import load_certificates
from propylon.tenants.saml_keys import load_private_key as _load_private_key

REQUEST_LIFETIME = timedelta(minutes=10)
EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"


class LoginRefused(PropylonError):
    """A sign-in was refused. ``reason`` is for the audit trail; ``detail`` for the person."""

    def __init__(self, reason: str, detail: str, status: int = 403) -> None:
        super().__init__(detail)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class LoginOutcome:
    session: IssuedSession
    redirect_to: str
    """Where to continue: the pending authorization request, or for an IdP-initiated login
    an authorization request of the app it lands in."""
    tenant_id: str
    user_id: str


@lru_cache(maxsize=512)
def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    """The SP key, parsed once per process: loading a PEM RSA key re-checks the key, which
    costs tens of milliseconds (it was half of an ACS request's CPU)."""
    return _load_private_key(pem)


@lru_cache(maxsize=512)
def _trust(entity_id: str, pems: tuple[str, ...]) -> IdpTrust:
    return IdpTrust(entity_id, load_certificates(list(pems)))


def trust_of(conn: SamlConnection) -> IdpTrust:
    """Pinned certificates by value: a rotation (new PEM list) is a new cache entry."""
    return _trust(conn.idp_entity_id, tuple(conn.idp_certificates["pem"]))


def policy_of(rt: Runtime, conn: SamlConnection) -> ValidationPolicy:
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


async def start_login(rt: Runtime, connection_id: str, return_to: str) -> str:
    """The IdP URL carrying a fresh AuthnRequest (SAML Core §3.4.1, Bindings §3.4)."""
    if not is_local_authorize(return_to):
        raise InvalidInput("sign-in must start from the authorization endpoint")
    now = rt.clock()
    relay = secrets.token_urlsafe(32)
    async with rt.db.write() as s:
        conn = await get_connection(s, connection_id)
        request_id = new_id()
        s.add(
            SamlRequest(
                id=request_id,
                connection_id=conn.id,
                relay_state_hash=hash_secret(relay),
                return_to=return_to,
                created_at=now,
                expires_at=now + REQUEST_LIFETIME,
            )
        )
        message = build_authn_request(
            request_id=request_id,
            issue_instant=now,
            sp_entity_id=conn.sp_entity_id,
            acs_url=sp_urls(rt.settings.public_url, conn.id)["acs_url"],
            destination=conn.sso_url,
        )
        key = load_private_key(conn.sp_private_key_pem) if conn.sign_requests else None
        rec = AuditRecord("sso.saml.start", "saml_connection", conn.id, conn.tenant_id)
        record(s, Actor("saml", conn.id, conn.tenant_id), rec, now)
    return encode_redirect_url(conn.sso_url, message, relay_state=relay, signing_key=key)


async def _pending(
    s: AsyncSession, conn: SamlConnection, relay_state: str | None, now: datetime
) -> SamlRequest | None:
    if not relay_state or len(relay_state) > 512:
        return None
    req = await s.scalar(
        select(SamlRequest).where(
            SamlRequest.relay_state_hash == hash_secret(relay_state),
            SamlRequest.connection_id == conn.id,
        )
    )
    if req is None:
        return None
    if req.consumed_at is not None or req.expires_at <= now:
        raise LoginRefused("request_used_or_expired", "This sign-in link has expired.", 400)
    return req


def _attribute(assertion: Assertion, conn: SamlConnection, field: str) -> str | None:
    name = conn.attribute_map.get(field)
    values = assertion.attributes.get(name, []) if name else []
    return values[0] if values else None


async def _find_user(
    s: AsyncSession, conn: SamlConnection, assertion: Assertion
) -> tuple[User | None, str | None]:
    email = _attribute(assertion, conn, "email")
    if email is None and (assertion.name_id_format == EMAIL_FORMAT or "@" in assertion.name_id):
        email = assertion.name_id
    query = select(User).where(User.tenant_id == conn.tenant_id)
    if conn.match_by == "email":
        if not email:
            return None, None
        query = query.where(User.email == email.lower())
    elif conn.match_by == "user_name":
        query = query.where(User.user_name_ci == assertion.name_id.lower())
    else:
        query = query.where(User.external_id == assertion.name_id)
    # a live record wins over a deprovisioned one of the same person
    rows = list((await s.scalars(query.order_by(User.deleted_at.is_not(None)))).all())
    return (rows[0] if rows else None), email


async def _jit(
    s: AsyncSession, conn: SamlConnection, assertion: Assertion, email: str | None, now: datetime
) -> User:
    if not email:
        raise LoginRefused("jit_without_email", "Your account could not be created.")
    seats = await s.scalar(select(Tenant.seats).where(Tenant.id == conn.tenant_id))
    scope = DirectoryScope(conn.tenant_id, None, None, seats)
    outbox = Outbox(conn.tenant_id)
    draft = UserDraft(
        user_name=email,
        email=email,
        given_name=_attribute(assertion, conn, "given_name"),
        family_name=_attribute(assertion, conn, "family_name"),
        department=_attribute(assertion, conn, "department"),
        doc={"userName": email, "emails": [{"value": email, "primary": True}]},
    )
    user = await create_user(s, scope, draft, outbox, now)
    await outbox.flush(s, now)
    return user


async def _validate(
    rt: Runtime, conn: SamlConnection, saml_response: str, relay_state: str | None, now: datetime
) -> tuple[SamlRequest | None, Assertion]:
    """Find the pending request, validate the Response, refuse a replay."""
    async with rt.db.read() as s:
        pending = await _pending(s, conn, relay_state, now)
    try:
        assertion = validate_response(
            saml_response,
            trust=trust_of(conn),
            policy=policy_of(rt, conn),
            expected_request_id=pending.id if pending else None,
            now=now,
            sp_decryption_key=load_private_key(conn.sp_private_key_pem),
        )
    except SamlValidationError as exc:
        raise LoginRefused(exc.reason.value, "The sign-in response was not accepted.", 400) from exc
    # SAML Profiles §4.1.4.5: an assertion id is accepted once while it could be valid.
    ttl = max(int((assertion.replay_cache_until - now).total_seconds()), 1)
    if not await rt.cache.remember_once(f"saml:{conn.id}:{assertion.assertion_id}", ttl):
        raise LoginRefused("assertion_replayed", "This sign-in response was already used.", 400)
    return pending, assertion


async def _consume(s: AsyncSession, pending: SamlRequest, now: datetime) -> None:
    done = await s.execute(
        update(SamlRequest)
        .where(SamlRequest.id == pending.id, SamlRequest.consumed_at.is_(None))
        .values(consumed_at=now)
    )
    if not getattr(done, "rowcount", 0):
        raise LoginRefused("request_used_or_expired", "This sign-in link has expired.", 400)


async def _landing(s: AsyncSession, conn: SamlConnection) -> str:
    try:
        return await idp_initiated_landing(s, conn)
    except NoLandingApp as exc:
        raise LoginRefused(exc.reason, exc.detail, 400) from exc


async def finish_login(
    rt: Runtime, connection_id: str, saml_response: str, relay_state: str | None
) -> LoginOutcome:
    """Consume a Response at the ACS (SAML Profiles §4.1.4.3-5) and start a session."""
    now = rt.clock()
    async with rt.db.read() as s:
        conn = await get_connection(s, connection_id)
    actor = Actor("saml", conn.id, conn.tenant_id)
    rec = AuditRecord("sso.saml.login", "saml_connection", conn.id, conn.tenant_id)
    try:
        pending, assertion = await _validate(rt, conn, saml_response, relay_state, now)
        async with rt.db.write() as s:
            if pending is not None:
                await _consume(s, pending, now)
            user, email = await _find_user(s, conn, assertion)
            if user is not None and user.deleted_at is not None:
                raise LoginRefused("user_deprovisioned", "Your account is no longer active.")
            if user is not None and not user.active:
                raise LoginRefused("user_deactivated", "Your account is deactivated.")
            if user is not None:
                rec.target_type, rec.target_id = "user", user.id
            redirect_to = pending.return_to if pending else await _landing(s, conn)
            if user is None:
                if not conn.jit:
                    raise LoginRefused("unknown_user", "You have no account on this platform yet.")
                user = await _jit(s, conn, assertion, email, now)
                rec.target_type, rec.target_id = "user", user.id
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
                ),
                now,
            )
            rec.diff = {"session": {"before": None, "after": staged.id}}
            record(s, actor, rec, now)
    except LoginRefused as exc:
        rec.reason, rec.status = exc.reason, exc.status
        await record_failure(rt.db, actor, rec, now)
        raise
    except PropylonError as exc:
        rec.reason = exc.detail
        await record_failure(rt.db, actor, rec, now)
        raise
    issued = await rt.sessions.publish(staged, now)  # after the commit: see the module doc
    return LoginOutcome(issued, redirect_to, conn.tenant_id, user.id)
