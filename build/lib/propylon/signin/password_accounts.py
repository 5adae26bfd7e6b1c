"""Password accounts' life: sign-up finished by an emailed link, reset by an emailed link,
change by the signed-in person. Links are single-use and expiring
(:mod:`propylon.passwords.store`).

Identities link by verified email only: a sign-up names an address and a password, and
nothing exists until the link mailed to that address is followed; only then is the
credential attached to the tenant's user with that address (one created by SSO or SCIM, say)
or to a user created then. The link alone is not enough: it finishes the sign-up in the
browser that started it (a cookie whose hash the link's row keeps), and elsewhere only with
the password chosen at sign-up, so whoever signs up with someone else's address cannot have
the owner attach the intruder's password by clicking the mail (account pre-hijacking), and a
mail scanner that fetches the link changes nothing.

Sign-up and reset answer the same whatever the address (no enumeration): the work that
depends on it runs after the answer, and a sign-up with an address that already has an
account mails its owner instead. Mails to one address are limited per hour."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.audit.log import Actor, AuditRecord, insert_success
from propylon.db.tables import Tenant, User
from propylon.directory.errors import SeatLimitReached
from propylon.directory.events import Outbox
from propylon.directory.scope import DirectoryScope
from propylon.directory.users import UserDraft, create_user, revoke_sign_ins
from propylon.errors import AlreadyExists
from propylon.mail import OutgoingMail, build_message
from propylon.passwords.sp800_63b import normalise
from propylon.passwords.store import (
    Account,
    account_of,
    find_account,
    has_credential,
    new_token,
    peek_token,
    save_credential,
    set_password_hash,
    tenant_for,
    use_token,
    user_with_email,
)
from propylon.runtime import Runtime
from propylon.sessions.service import ActiveSession, SessionTenant, SessionUser
from propylon.signin.password_sign_in import (
    AUTH_METHOD,
    PasswordLogin,
    PasswordRefused,
    start_session,
)
from propylon.tenants.individuals import individuals_tenant, is_individuals


class LinkInvalid(Exception):
    """A link unknown, used, expired, or (verification) whose password was not proved."""


class AccountNotCreated(Exception):
    """The tenant cannot take the new user: no seat left, its user name is taken by another
    user, or it no longer allows passwords (SSO enforced since the sign-up). Nothing
    changed; the link stays usable until it expires."""


def browser_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


async def _may_mail(rt: Runtime, email: str) -> bool:
    key = "pw-mail:" + hashlib.sha256(email.encode()).hexdigest()
    limit = rt.settings.password_mails_per_address_per_hour
    return (await rt.cache.rate_hit(key, limit, 3600)).allowed


async def _send(rt: Runtime, mail: OutgoingMail) -> None:
    await rt.mailer.send(build_message(mail, rt.settings.mail_from))


def _link(rt: Runtime, path: str, token: str) -> str:
    return f"{rt.settings.public_url.rstrip('/')}{path}?token={token}"


def _lasting(seconds: int) -> str:
    """How long a link works, in words."""
    if seconds < 7200:
        return f"{max(1, seconds // 60)} minutes"
    return f"{seconds // 3600} hours"


async def sign_up(
    rt: Runtime, email: str, password: str, browser: str, return_to: str | None
) -> None:
    """Mail ``email`` a verification link carrying the pending account (the password's
    hash), or, when the address has an account already, a note saying so. ``password`` is
    normalised and checked already; the tenant allows passwords (checked by the caller)."""
    if not await _may_mail(rt, email):
        return
    hashed = await rt.password_hashing.hash(password)
    now = rt.clock()
    async with rt.db.write() as s:
        choice = await tenant_for(s, email)
        tenant_id = choice.tenant_id
        if is_individuals(tenant_id):
            tenant_id = await individuals_tenant(s, now)
        if await has_credential(s, tenant_id, email):
            token = None
        else:
            token = await new_token(
                s,
                "verify",
                tenant_id=tenant_id,
                email=email,
                now=now,
                lifetime_seconds=rt.settings.password_verify_link_lifetime_seconds,
                password_hash=hashed,
                browser_hash=browser_hash(browser),
                return_to=return_to,
            )
    if token is None:
        body = (
            "Someone, perhaps you, tried to create an account with this address, which "
            "already has one.\n\nIf it was you, sign in, or reset your password if you forgot "
            f"it:\n\n{rt.settings.public_url.rstrip('/')}/password/reset\n\n"
            "If it was not you, you can ignore this message: nothing changed."
        )
        await _send(rt, OutgoingMail(email, "You already have an account", body))
        return
    lasting = _lasting(rt.settings.password_verify_link_lifetime_seconds)
    body = (
        "Follow this link to confirm your address and finish creating your account:\n\n"
        f"{_link(rt, '/password/verify', token)}\n\n"
        f"The link works once, for {lasting}. If you did not sign up, ignore this message: "
        "no account is created."
    )
    await _send(rt, OutgoingMail(email, "Confirm your email address", body))


@dataclass(frozen=True)
class Verified:
    login: PasswordLogin | None
    """Signed in (``None``: the address already had a password; sign in with it)."""
    return_to: str | None


async def _identity(s: AsyncSession, user: User) -> tuple[SessionUser, SessionTenant]:
    slug, name = (
        await s.execute(select(Tenant.slug, Tenant.name).where(Tenant.id == user.tenant_id))
    ).one()
    found = SessionUser(
        user.id,
        user.tenant_id,
        user.email,
        user.display_name,
        user.given_name,
        user.family_name,
        bool(user.active),
        user.deleted_at,
        user.revocation_epoch or 0,
    )
    return found, SessionTenant(user.tenant_id, slug, name)


async def _user_for(s: AsyncSession, tenant_id: str, email: str, now: datetime) -> User:
    """The tenant's user with this (now verified) address, or a new one (seats apply)."""
    user = await user_with_email(s, tenant_id, email)
    if user is not None:
        return user
    seats = await s.scalar(select(Tenant.seats).where(Tenant.id == tenant_id))
    outbox = Outbox(tenant_id)
    draft = UserDraft(
        user_name=email,
        email=email,
        doc={"userName": email, "emails": [{"value": email, "primary": True}]},
    )
    user = await create_user(s, DirectoryScope(tenant_id, None, None, seats), draft, outbox, now)
    await outbox.flush(s, now)
    return user


async def verify_sign_up(
    rt: Runtime,
    token: str,
    browser: str | None,
    password: str | None,
    client: str,
    request_id: str | None = None,
) -> Verified:
    """Finish the sign-up ``token`` names: in the browser that started it, or elsewhere with
    the password chosen then (``password`` ``None`` there: :class:`PasswordRefused`
    ``password_needed``); the link is used once. The credential is attached to the user with
    that address, or to a new one, and the person signed in."""
    now = rt.clock()
    async with rt.db.read() as s:
        pending = await peek_token(s, token, "verify", now)
    if pending is None or pending.password_hash is None:
        raise LinkInvalid()
    same = bool(browser and pending.browser_hash)
    if not (same and hmac.compare_digest(pending.browser_hash or "", browser_hash(browser or ""))):
        if password is None:
            raise PasswordRefused("password_needed")
        wait = await rt.password_throttle.wait(pending.email, client)
        if wait:
            raise PasswordRefused("throttled", wait)
        value = normalise(password[: 4 * rt.settings.password_max_length])
        if not (await rt.password_hashing.verify(pending.password_hash, value)).ok:
            await rt.password_throttle.failed(pending.email, client)
            raise PasswordRefused("invalid")
    try:
        async with rt.db.write() as s:
            row = await use_token(s, token, "verify", now)
            if row is None or row.password_hash is None:
                raise LinkInvalid()
            # the tenant's rule as it is now, not as it was at sign-up: a tenant that since
            # enforces SSO or refuses passwords takes no password account from an old link
            now_in = await tenant_for(s, row.email)
            if now_in.tenant_id != row.tenant_id or not now_in.allows_password:
                raise AccountNotCreated("the address's organisation no longer takes passwords")
            if await has_credential(s, row.tenant_id, row.email):
                return Verified(None, row.return_to)  # verified twice over: sign in with it
            user = await _user_for(s, row.tenant_id, row.email, now)
            await save_credential(s, user, row.email, row.password_hash, now)
            found, tenant = await _identity(s, user)
            rec = AuditRecord(
                "password.sign_up", "user", user.id, user.tenant_id, request_id=request_id
            )
            rec.diff = {"email_verified": {"before": None, "after": row.email}}
            await insert_success(s, Actor(AUTH_METHOD, user.id, user.tenant_id), rec, now)
    except (AlreadyExists, SeatLimitReached) as exc:
        raise AccountNotCreated(str(exc)) from exc
    try:
        login = await start_session(
            rt, Account(found, tenant, row.password_hash), "password.sign_in"
        )
    except PasswordRefused:  # a deactivated user: the address is proved, no session
        return Verified(None, row.return_to)
    return Verified(login, row.return_to)


async def request_reset(rt: Runtime, email: str) -> None:
    """Mail a reset link to ``email`` if it has a password account here (and nothing
    otherwise: the person is told the same either way)."""
    async with rt.db.read() as s:
        choice = await tenant_for(s, email)
        found = await find_account(s, choice.tenant_id, email) if choice.allows_password else None
    if found is None or not await _may_mail(rt, email):
        return
    lifetime = rt.settings.password_reset_link_lifetime_seconds
    async with rt.db.write() as s:
        token = await new_token(
            s,
            "reset",
            tenant_id=found.user.tenant_id,
            email=email,
            now=rt.clock(),
            lifetime_seconds=lifetime,
            user_id=found.user.id,
        )
    body = (
        "Follow this link to choose a new password:\n\n"
        f"{_link(rt, '/password/reset/confirm', token)}\n\n"
        f"The link works once, for {_lasting(lifetime)}. Setting a new password "
        "signs you out everywhere. If you did not ask for this, ignore this message: your "
        "password stays as it is."
    )
    await _send(rt, OutgoingMail(email, "Reset your password", body))


async def confirm_reset(
    rt: Runtime, token: str, password: str, request_id: str | None = None
) -> None:
    """Set the new (checked, normalised) password the link ``token`` allows, once, and end
    every session of the user (their revocation epoch goes up)."""
    hashed = await rt.password_hashing.hash(password)
    now = rt.clock()
    async with rt.db.write() as s:
        row = await use_token(s, token, "reset", now)
        user = await s.get(User, row.user_id) if row is not None and row.user_id else None
        if row is None or user is None or await account_of(s, user.id) is None:
            raise LinkInvalid()
        await set_password_hash(s, user.id, hashed, now)
        await revoke_sign_ins(s, user, now)
        rec = AuditRecord("password.reset", "user", user.id, user.tenant_id, request_id=request_id)
        await insert_success(s, Actor(AUTH_METHOD, user.id, user.tenant_id), rec, now)
    await rt.password_throttle.succeeded(row.email)


async def change_password(
    rt: Runtime,
    login: ActiveSession,
    current: str,
    new: str,
    client: str,
    request_id: str | None = None,
) -> PasswordLogin:
    """Replace the signed-in person's password, proved by the current one (slowed like a
    sign-in); every session of theirs ends and this browser gets a new one."""
    async with rt.db.read() as s:
        found = await account_of(s, login.user.id)
    if found is None:
        raise PasswordRefused("no_password")
    email = (found.user.email or "").lower()
    wait = await rt.password_throttle.wait(email, client)
    if wait:
        raise PasswordRefused("throttled", wait)
    value = normalise(current[: 4 * rt.settings.password_max_length])
    if not (await rt.password_hashing.verify(found.password_hash, value)).ok:
        await rt.password_throttle.failed(email, client)
        raise PasswordRefused("invalid")
    hashed = await rt.password_hashing.hash(new)
    now = rt.clock()
    async with rt.db.write() as s:
        user = await s.get(User, login.user.id)
        if user is None:
            raise PasswordRefused("no_password")
        await set_password_hash(s, user.id, hashed, now)
        await revoke_sign_ins(s, user, now)
        epoch = user.revocation_epoch
        rec = AuditRecord("password.change", "user", user.id, user.tenant_id, request_id=request_id)
        await insert_success(s, Actor(AUTH_METHOD, user.id, user.tenant_id), rec, now)
    fresh = replace(found.user, revocation_epoch=epoch)
    return await start_session(rt, Account(fresh, found.tenant, hashed), "password.sign_in")
