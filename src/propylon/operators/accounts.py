"""Operator accounts: created with an argon2id password (``passwords/argon2id.py``) and a
fresh TOTP secret sealed at rest (``crypto/secretbox``, purpose :data:`TOTP_PURPOSE`, row the
operator id); the second factor checked once per time step (:mod:`.rfc6238`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from propylon import errors
from propylon.crypto.secretbox import SecretBox
from propylon.db.tables_operators import ConsoleSession, Operator
from propylon.ids import Kind, new_id
from propylon.operators import rfc6238
from propylon.passwords.store import normalise_email

TOTP_PURPOSE = "operator-totp"


@dataclass(frozen=True)
class Enrolment:
    """What the operator's authenticator app needs, shown once."""

    operator_id: str
    email: str
    secret: str
    otpauth_uri: str


def view(row: Operator) -> dict[str, str]:
    return {"id": row.id, "email": row.email, "created_at": row.created_at.isoformat()}


def checked_email(raw: str) -> str:
    email = normalise_email(raw)
    if email is None:
        raise errors.InvalidInput("email: enter an address like name@example.com")
    return email


def _enrol(box: SecretBox, row: Operator, issuer: str) -> Enrolment:
    secret = rfc6238.new_secret()
    row.totp_secret = box.seal(secret, TOTP_PURPOSE, row.id)
    row.totp_last_step = None
    uri = rfc6238.otpauth_uri(issuer, row.email, secret)
    return Enrolment(row.id, row.email, rfc6238.b32(secret), uri)


async def create(
    s: AsyncSession, box: SecretBox, *, email: str, password_hash: str, issuer: str, now: datetime
) -> Enrolment:
    if await s.scalar(select(Operator.id).where(Operator.email == email)) is not None:
        raise errors.AlreadyExists(f"an operator {email} exists already", "email")
    row = Operator(
        id=new_id(Kind.OPERATOR),
        email=email,
        password_hash=password_hash,
        totp_secret="",
        created_at=now,
        updated_at=now,
    )
    enrolment = _enrol(box, row, issuer)
    s.add(row)
    await s.flush()
    return enrolment


async def find(s: AsyncSession, ref: str) -> Operator:
    """By id or email."""
    column = Operator.id if ref.startswith("op_") else Operator.email
    row = await s.scalar(select(Operator).where(column == ref.strip().lower()[:320]))
    if row is None:
        raise errors.NotFound(f"no operator {ref}")
    return row


async def by_email(s: AsyncSession, email: str) -> Operator | None:
    return await s.scalar(select(Operator).where(Operator.email == email))


async def list_all(s: AsyncSession) -> list[Operator]:
    return list((await s.scalars(select(Operator).order_by(Operator.email))).all())


async def end_sessions(s: AsyncSession, operator_id: str, now: datetime) -> int:
    done = await s.execute(
        update(ConsoleSession)
        .where(ConsoleSession.operator_id == operator_id, ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(getattr(done, "rowcount", 0) or 0)


async def remove(s: AsyncSession, row: Operator, now: datetime) -> int:
    ended = await end_sessions(s, row.id, now)
    await s.execute(delete(Operator).where(Operator.id == row.id))
    return ended


async def reset_totp(
    s: AsyncSession, box: SecretBox, row: Operator, *, issuer: str, now: datetime
) -> Enrolment:
    """A new secret (the old one stops working at once) and every console session ended."""
    enrolment = _enrol(box, row, issuer)
    row.updated_at = now
    await end_sessions(s, row.id, now)
    await s.flush()
    return enrolment


def totp_step(box: SecretBox, row: Operator, code: str, unix_seconds: float) -> int | None:
    """The time step ``code`` is valid for now (not yet used), or ``None``."""
    secret = box.open(row.totp_secret, TOTP_PURPOSE, row.id)
    return rfc6238.verify(secret, code, unix_seconds, row.totp_last_step)


async def use_step(s: AsyncSession, operator_id: str, step: int) -> bool:
    """Record ``step`` as used, atomically: ``False`` when this step (or a later one) was
    used already, by a concurrent sign-in too (the compare-and-set is one statement)."""
    done = await s.execute(
        update(Operator)
        .where(
            Operator.id == operator_id,
            or_(Operator.totp_last_step.is_(None), Operator.totp_last_step < step),
        )
        .values(totp_last_step=step)
    )
    return int(getattr(done, "rowcount", 0) or 0) == 1
