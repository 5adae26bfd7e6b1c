"""Operators of the console: accounts (the CLI creates, lists, removes them and resets their
second factor, each audited) and signing in to the console: a password, then a TOTP code
(RFC 6238), or SSO through one of Propylon's own tenants; sessions server-side.

A refused attempt writes nothing to the database: wrong passwords and codes are counted in
the accelerator (growing delays per account and client address, ``passwords/throttle.py``
under its own prefix) and an unknown email costs the same hash as a known one."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update

from propylon import errors
from propylon.admin import console_sso
from propylon.admin.audited import audited
from propylon.audit import Actor, AuditRecord, record
from propylon.db.tables_operators import Operator
from propylon.operators import accounts
from propylon.operators import console_sessions as cs
from propylon.passwords.sp800_63b import PasswordRefused, check_new_password, normalise
from propylon.passwords.store import normalise_email
from propylon.passwords.throttle import Throttle
from propylon.runtime import Runtime

MFA_SECONDS = 300
"""Time between a right password and its TOTP code."""


def actor_of(signed: cs.Signed) -> Actor:
    return Actor("operator", signed.operator_id or signed.subject)


def _issuer(rt: Runtime) -> str:
    return f"{rt.settings.brand_name} console"


def _enrolment(e: accounts.Enrolment) -> dict[str, Any]:
    return {
        "id": e.operator_id,
        "email": e.email,
        "totp_secret": e.secret,
        "otpauth_uri": e.otpauth_uri,
    }


async def create_operator(rt: Runtime, actor: Actor, email: str, password: str) -> dict[str, Any]:
    """The new operator, with the TOTP secret and its ``otpauth://`` URI (shown once)."""
    address = accounts.checked_email(email)
    st = rt.settings
    try:
        value = check_new_password(
            password, min_length=st.password_min_length, max_length=st.password_max_length
        )
    except PasswordRefused as exc:
        raise errors.InvalidInput(f"password: {exc}") from None
    hashed = await rt.password_hashing.hash(value)

    async def op(s: Any, rec: AuditRecord) -> accounts.Enrolment:
        e = await accounts.create(
            s,
            rt.secret_box,
            email=address,
            password_hash=hashed,
            issuer=_issuer(rt),
            now=rt.clock(),
        )
        rec.target_type, rec.target_id = "operator", e.operator_id
        return e

    return _enrolment(await audited(rt, actor, "operator.create", op))


async def list_operators(rt: Runtime) -> list[dict[str, str]]:
    async with rt.db.read() as s:
        return [accounts.view(r) for r in await accounts.list_all(s)]


async def remove_operator(rt: Runtime, actor: Actor, ref: str) -> dict[str, Any]:
    async def op(s: Any, rec: AuditRecord) -> dict[str, Any]:
        row = await accounts.find(s, ref)
        rec.target_type, rec.target_id = "operator", row.id
        ended = await accounts.remove(s, row, rt.clock())
        return {"id": row.id, "email": row.email, "removed": True, "sessions_ended": ended}

    return await audited(rt, actor, "operator.remove", op)


async def reset_totp(rt: Runtime, actor: Actor, ref: str) -> dict[str, Any]:
    """A new TOTP secret (shown once); the operator's console sessions end."""

    async def op(s: Any, rec: AuditRecord) -> accounts.Enrolment:
        row = await accounts.find(s, ref)
        rec.target_type, rec.target_id = "operator", row.id
        return await accounts.reset_totp(s, rt.secret_box, row, issuer=_issuer(rt), now=rt.clock())

    return _enrolment(await audited(rt, actor, "operator.reset_totp", op))


# -- signing in ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """``operator_id`` set: this step passed; ``retry_after`` > 0: refused unchecked."""

    operator_id: str | None = None
    email: str = ""
    retry_after: int = 0


def throttle(rt: Runtime) -> Throttle:
    return dataclasses.replace(rt.password_throttle, prefix="op")


async def check_password(rt: Runtime, raw_email: str, password: str, client: str) -> Attempt:
    email = normalise_email(raw_email[:320]) or raw_email.strip().lower()[:320]
    limiter = throttle(rt)
    if wait := await limiter.wait(email, client):
        return Attempt(email=email, retry_after=wait)
    async with rt.db.read() as s:
        row = await accounts.by_email(s, email)
    stored = row.password_hash if row is not None else None
    value = normalise(password[: 4 * rt.settings.password_max_length])  # as it was hashed
    verdict = await rt.password_hashing.verify(stored, value)
    if row is None or not verdict.ok:
        await limiter.failed(email, client)
        return Attempt(email=email)
    if verdict.needs_rehash:  # RFC 9106 §4: the parameters were raised since it was hashed
        fresh = await rt.password_hashing.hash(value)
        async with rt.db.write() as s:
            await s.execute(
                update(Operator).where(Operator.id == row.id).values(password_hash=fresh)
            )
    return Attempt(operator_id=row.id, email=email)


async def check_totp(
    rt: Runtime, operator_id: str, code: str, client: str, request_id: str | None
) -> tuple[Attempt, str | None]:
    """The attempt and, when the code is right and unused, the new session's token (the
    step recorded, the session opened and the sign-in audited in one transaction)."""
    async with rt.db.read() as s:
        row = await s.get(Operator, operator_id)
    if row is None:
        return Attempt(), None
    limiter = throttle(rt)
    if wait := await limiter.wait(row.email, client):
        return Attempt(email=row.email, retry_after=wait), None
    now = rt.clock()
    step = accounts.totp_step(rt.secret_box, row, code, now.timestamp())
    token: str | None = None
    if step is not None:
        async with rt.db.write() as s:
            if await accounts.use_step(s, row.id, step):
                token = await cs.open_session(
                    s,
                    email=row.email,
                    via="password+totp",
                    now=now,
                    absolute_seconds=rt.settings.console_session_absolute_seconds,
                    operator_id=row.id,
                )
                rec = AuditRecord("console.sign_in", "operator", row.id, request_id=request_id)
                record(s, Actor("operator", row.id), rec, now)
    if token is None:
        await limiter.failed(row.email, client)
        return Attempt(email=row.email), None
    await limiter.succeeded(row.email)
    return Attempt(operator_id=row.id, email=row.email), token


async def open_sso_session(
    rt: Runtime, *, email: str, subject: str, tenant_id: str, request_id: str | None
) -> str:
    """A console session for a person the console's SSO tenant signed in and admitted."""
    now = rt.clock()
    async with rt.db.write() as s:
        token = await cs.open_session(
            s,
            email=email,
            via="sso",
            now=now,
            absolute_seconds=rt.settings.console_session_absolute_seconds,
            subject=subject,
        )
        rec = AuditRecord("console.sign_in", "user", subject, tenant_id, request_id=request_id)
        record(s, Actor("operator", subject, tenant_id), rec, now)
    return token


async def session_of(rt: Runtime, token: str) -> cs.Signed | None:
    """The live console session of this token (its idle clock restarted now and then). A
    session opened by SSO is admitted again whenever it is touched (at most every
    :data:`cs.TOUCH_SECONDS`): the person still a user of the console's tenant, active, not
    deprovisioned, with the console's role; if not, the session is revoked for good
    (audited), so giving the role back does not revive it."""
    now = rt.clock()
    async with rt.db.read() as s:
        signed = await cs.active(s, token, now, rt.settings.console_session_idle_seconds)
    if signed is None or not signed.needs_touch:
        return signed
    if signed.via == "sso":
        admission = await console_sso.admit(rt, signed.subject or "")
        if not admission.admitted:
            await _end_unadmitted(rt, signed, admission, now)
            return None
    async with rt.db.write() as s:
        await cs.touch(s, signed.session_id, now)
    return signed


async def _end_unadmitted(
    rt: Runtime, signed: cs.Signed, admission: console_sso.Admission, now: datetime
) -> None:
    async with rt.db.write() as s:
        if await cs.revoke(s, signed.session_id, now):
            rec = AuditRecord(
                "console.session.revoke",
                "console_session",
                signed.session_id[:16],
                admission.tenant_id,
            )
            rec.reason = f"no longer admitted: {admission.reason}"[:200]
            record(s, Actor("system", "console-sso-admission"), rec, now)


async def sign_out(rt: Runtime, signed: cs.Signed, request_id: str | None) -> None:
    async def op(s: Any, rec: AuditRecord) -> None:
        rec.target_type, rec.target_id = "console_session", signed.session_id[:16]
        rec.request_id = request_id
        await cs.revoke(s, signed.session_id, rt.clock())

    await audited(rt, actor_of(signed), "console.sign_out", op)


async def console_sessions(rt: Runtime) -> list[dict[str, Any]]:
    """The open console sessions, newest first (a short prefix of the stored hash names
    each; the token itself is never stored)."""
    now = rt.clock()
    async with rt.db.read() as s:
        rows = await cs.list_open(s, now)
    idle = rt.settings.console_session_idle_seconds
    return [
        {
            "id": r.id[:16],
            "email": r.email,
            "via": r.via,
            "created_at": r.created_at.isoformat(),
            "last_seen_at": r.last_seen_at.isoformat(),
        }
        for r in rows
        if (now - r.last_seen_at).total_seconds() < idle
    ]


async def revoke_console_session(rt: Runtime, actor: Actor, prefix: str) -> bool:
    """End the open console session whose id starts with ``prefix`` (16 hex characters)."""
    if len(prefix) != 16 or not all(c in "0123456789abcdef" for c in prefix):
        raise errors.NotFound("no such console session")

    async def op(s: Any, rec: AuditRecord) -> bool:
        rec.target_type, rec.target_id = "console_session", prefix
        for row in await cs.list_open(s, rt.clock()):
            if row.id.startswith(prefix):
                return await cs.revoke(s, row.id, rt.clock())
        raise errors.NotFound("no such console session")

    return await audited(rt, actor, "console.session.revoke", op)
