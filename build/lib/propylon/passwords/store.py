"""What password accounts store: the credential (a verified address and its argon2id hash)
and the single-use links mailed to people, kept by the SHA-256 of their token (a leak of the
table yields no usable link).

Which tenant an address belongs to: the tenant whose domain it has (a domain routes once
trusted: added by the operator, or proved in DNS and not lapsed), else the reserved tenant
of individual users (:mod:`propylon.tenants.individuals`)."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import Tenant, User, core
from propylon.db.tables_password import PasswordCredential, PasswordToken
from propylon.sessions.service import IDENTITY_COLUMNS, SessionTenant, SessionUser, identity_of
from propylon.tenants.individuals import INDIVIDUALS_TENANT_ID
from propylon.tenants.login_routes import PASSWORD, LoginRouter

MAX_EMAIL_LENGTH = 320
_CRED, _USERS, _TENANTS = core(PasswordCredential), core(User), core(Tenant)


_DOT_ATOM = re.compile(r"[a-z0-9!#$%&*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&*+/=?^_`{|}~-]+)*\Z")
_HOST = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}\Z")
MAX_ADDRESS = 254
"""RFC 5321 §4.5.3.1.3: a path is at most 256 octets, 254 without its angle brackets."""


def normalise_email(raw: str) -> str | None:
    """The address as compared and stored (trimmed, lower case), or ``None`` if it is not
    one plain mailbox: a dot-atom local part (RFC 5322 §3.2.3, no quoted strings, comments
    or groups) at a host name, at most :data:`MAX_ADDRESS` characters. Anything looser could
    be read by a mail library as another address, or several, than the domain the tenant is
    picked by (``a@evil.example(@corp.example``)."""
    value = raw.strip().lower()
    local, at, domain = value.partition("@")
    if not at or len(value) > MAX_ADDRESS or len(local) > 64:
        return None
    if _DOT_ATOM.match(local) is None or _HOST.match(domain) is None:
        return None
    return value


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class TenantChoice:
    tenant_id: str
    allows_password: bool
    """The tenant allows password sign-in and does not enforce SSO."""
    enforces_sso: bool


async def tenant_for(s: AsyncSession, email: str) -> TenantChoice:
    """The tenant a password account for ``email`` lives in (see the module docstring), by
    the same routing rule as the sign-in page (:class:`propylon.tenants.login_routes.
    LoginRouter`, read afresh): whether it allows passwords is :meth:`LoginRoute.refuses`."""
    route = await LoginRouter().route(s, login_hint=email, organization=None)
    if route.individuals or route.tenant_id is None:
        return TenantChoice(INDIVIDUALS_TENANT_ID, True, False)
    return TenantChoice(route.tenant_id, not route.refuses(PASSWORD), route.enforce_sso)


@dataclass(frozen=True)
class Account:
    user: SessionUser
    tenant: SessionTenant
    password_hash: str


_ACCOUNT = (
    select(_CRED.c.password_hash, _CRED.c.email, *IDENTITY_COLUMNS)
    .join_from(_CRED, _USERS, _USERS.c.id == _CRED.c.user_id)
    .join(_TENANTS, _TENANTS.c.id == _USERS.c.tenant_id)
)


def _account(row: Any) -> Account | None:
    user, tenant = identity_of(row)
    # The credential signs in with the address it verified, while it is still the user's.
    if user.deleted_at is not None or (user.email or "").lower() != row[1]:
        return None
    return Account(user, tenant, row[0])


async def find_account(s: AsyncSession, tenant_id: str, email: str) -> Account | None:
    query = _ACCOUNT.where(_CRED.c.tenant_id == tenant_id, _CRED.c.email == email)
    row = (await (await s.connection()).execute(query)).first()
    return _account(row) if row is not None else None


async def account_of(s: AsyncSession, user_id: str) -> Account | None:
    row = (await (await s.connection()).execute(_ACCOUNT.where(_CRED.c.user_id == user_id))).first()
    return _account(row) if row is not None else None


async def user_with_email(s: AsyncSession, tenant_id: str, email: str) -> User | None:
    """The tenant's live user with this address (any case), the oldest if several; the one
    a verified password credential links to (identities link by verified email only)."""
    query = (
        select(User)
        .where(
            User.tenant_id == tenant_id,
            User.deleted_at.is_(None),
            or_(User.email == email, func.lower(User.email) == email),
        )
        .order_by(User.created_at)
        .limit(1)
    )
    return (await s.scalars(query)).first()


async def has_credential(s: AsyncSession, tenant_id: str, email: str) -> bool:
    query = select(PasswordCredential.user_id).where(
        PasswordCredential.tenant_id == tenant_id, PasswordCredential.email == email
    )
    return (await s.scalar(query)) is not None


async def save_credential(
    s: AsyncSession, user: User, email: str, password_hash: str, now: datetime
) -> None:
    """The user's credential for ``email`` (just verified), replacing any before."""
    cred = await s.get(PasswordCredential, user.id)
    if cred is None:
        s.add(
            PasswordCredential(
                user_id=user.id,
                tenant_id=user.tenant_id,
                email=email,
                password_hash=password_hash,
                email_verified_at=now,
                created_at=now,
                updated_at=now,
            )
        )
    else:
        cred.email, cred.password_hash, cred.updated_at = email, password_hash, now
        cred.email_verified_at = now
    await s.flush()


async def set_password_hash(
    s: AsyncSession, user_id: str, password_hash: str, now: datetime
) -> None:
    await s.execute(
        update(PasswordCredential)
        .where(PasswordCredential.user_id == user_id)
        .values(password_hash=password_hash, updated_at=now)
    )


async def new_token(
    s: AsyncSession,
    purpose: str,
    *,
    tenant_id: str,
    email: str,
    now: datetime,
    lifetime_seconds: int,
    user_id: str | None = None,
    password_hash: str | None = None,
    browser_hash: str | None = None,
    return_to: str | None = None,
) -> str:
    """A new link token (256 random bits), stored by its hash; shown once, in the mail."""
    token = secrets.token_urlsafe(32)
    s.add(
        PasswordToken(
            id=token_id(token),
            purpose=purpose,
            tenant_id=tenant_id,
            email=email,
            user_id=user_id,
            password_hash=password_hash,
            browser_hash=browser_hash,
            return_to=return_to,
            created_at=now,
            expires_at=now + timedelta(seconds=lifetime_seconds),
        )
    )
    await s.flush()
    return token


async def peek_token(
    s: AsyncSession, token: str, purpose: str, now: datetime
) -> PasswordToken | None:
    """The live link of ``purpose`` (unused, unexpired) ``token`` names; reads only."""
    if not 0 < len(token) <= 128:
        return None
    row = await s.get(PasswordToken, token_id(token))
    live = row is not None and row.purpose == purpose and row.used_at is None
    return row if live and row is not None and row.expires_at > now else None


async def use_token(
    s: AsyncSession, token: str, purpose: str, now: datetime
) -> PasswordToken | None:
    """Mark the link used, once: of concurrent uses one wins (a conditional update in the
    caller's transaction), the others and any later one get ``None``, as does an expired
    link or one of another purpose."""
    if not 0 < len(token) <= 128:
        return None
    tid = token_id(token)
    done = await s.execute(
        update(PasswordToken)
        .where(
            PasswordToken.id == tid,
            PasswordToken.purpose == purpose,
            PasswordToken.used_at.is_(None),
            PasswordToken.expires_at > now,
        )
        .values(used_at=now)
    )
    if getattr(done, "rowcount", 0) != 1:
        return None
    return await s.get(PasswordToken, tid)
