"""Signing in with an email and a password (NIST SP 800-63B §5.1.1.2 verifier rules), and the
session a verified password starts.

No user enumeration: an email without an account (or whose tenant allows no passwords) is
verified against a dummy argon2id hash at the same parameters, and refused with the same
answer as a wrong password, after the same work. Guessing is slowed per account and per
client address (:mod:`propylon.passwords.throttle`) before anything is verified; a failure
writes nothing to the database. A stored hash made with weaker parameters than today's is
replaced at the sign-in that proves the password (RFC 9106 §4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.audit.log import Actor, AuditRecord, insert_success
from propylon.db.tables_password import PasswordCredential
from propylon.passwords.sp800_63b import normalise
from propylon.passwords.store import Account, find_account, normalise_email, tenant_for
from propylon.runtime import Runtime
from propylon.sessions.service import ActiveSession, IssuedSession, SessionDraft, check_active

AUTH_METHOD = "password"


class PasswordRefused(Exception):
    """``reason``: ``throttled`` (wait ``retry_after`` seconds), ``invalid`` (the one answer
    for an unknown email and a wrong password), or ``sso_required`` (the address's tenant
    signs its people in through SSO only)."""

    def __init__(self, reason: str, retry_after: int = 0) -> None:
        super().__init__(reason)
        self.reason, self.retry_after = reason, retry_after


@dataclass(frozen=True)
class PasswordLogin:
    issued: IssuedSession
    login: ActiveSession


async def check_password(rt: Runtime, email_raw: str, password: str, client: str) -> Account:
    """The account ``email_raw`` and ``password`` prove, or :class:`PasswordRefused`; hashes
    weaker than today's parameters are replaced."""
    email = normalise_email(email_raw) or email_raw.strip().lower()[:320]
    wait = await rt.password_throttle.wait(email, client)
    if wait:
        raise PasswordRefused("throttled", wait)
    async with rt.db.read() as s:
        choice = await tenant_for(s, email)
        if choice.enforces_sso:
            raise PasswordRefused("sso_required")
        found = await find_account(s, choice.tenant_id, email) if choice.allows_password else None
    value = normalise(password[: 4 * rt.settings.password_max_length])
    verified = await rt.password_hashing.verify(found.password_hash if found else None, value)
    if found is None or not verified.ok:
        await rt.password_throttle.failed(email, client)
        raise PasswordRefused("invalid")
    await rt.password_throttle.succeeded(email)
    if verified.needs_rehash:
        fresh = await rt.password_hashing.hash(value)
        async with rt.db.write() as s:
            await _replace_hash(s, found, fresh, rt.clock())
    return found


async def _replace_hash(s: AsyncSession, account: Account, fresh: str, now: datetime) -> None:
    """Only over the hash that was verified: a password changed meanwhile stays changed."""
    await s.execute(
        update(PasswordCredential)
        .where(
            PasswordCredential.user_id == account.user.id,
            PasswordCredential.password_hash == account.password_hash,
        )
        .values(password_hash=fresh, updated_at=now)
    )


async def start_session(
    rt: Runtime, account: Account, action: str, request_id: str | None = None
) -> PasswordLogin:
    """A password session for ``account`` (refused, as ``invalid``, for a user no longer
    active), audited as ``action``; staged in the write transaction, published after it."""
    now = rt.clock()
    user, tenant = account.user, account.tenant
    draft = SessionDraft(
        tenant_id=user.tenant_id,
        user_id=user.id,
        auth_method=AUTH_METHOD,
        user_epoch=user.revocation_epoch,
    )
    async with rt.db.write() as s:
        staged = await rt.sessions.stage(s, draft, now)
        if not check_active(staged.record, user, tenant, now):
            raise PasswordRefused("invalid")
        rec = AuditRecord(action, "user", user.id, user.tenant_id, request_id=request_id)
        rec.diff = {"session": {"before": None, "after": staged.id}}
        await insert_success(s, Actor(AUTH_METHOD, user.id, user.tenant_id), rec, now)
    issued = await rt.sessions.publish(staged, now)
    return PasswordLogin(issued, ActiveSession(staged.record, user, tenant))


async def sign_in(
    rt: Runtime, email_raw: str, password: str, client: str, request_id: str | None = None
) -> PasswordLogin:
    account = await check_password(rt, email_raw, password, client)
    return await start_session(rt, account, "password.sign_in", request_id)
