"""Who an OpenID Connect sign-in is, by the same rules as a SAML one
(:mod:`propylon.signin.user_match`): the connection's ``claim_map`` turns the ID token's (and
UserInfo's) claims into the attributes a SAML attribute map reads, the user is matched by
email or by ``sub`` (against the directory's externalId) and provisioned just in time where
the connection allows it.

An email links a sign-in to an account only when the OP vouches for it: OpenID Connect Core
§5.1 ``email_verified``. A claim that is present and false refuses linking and provisioning
by email (anyone can put any address in a profile at many OPs); an absent claim is accepted
from a tenant's own IdP, which owns its addresses (most enterprise IdPs never send it); a
platform-wide provider (Google) must send ``true`` (``require_verified``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from propylon.signin.user_match import Identity, find_by, first_value

MAX_CLAIM_VALUES = 64


class EmailNotVerified(ValueError):
    """The OP does not vouch for the email it sent (``email_verified`` false or missing
    where it is required)."""


def claims_as_attributes(claims: Mapping[str, Any]) -> dict[str, list[str]]:
    """Claims as multi-valued string attributes: strings and numbers as one value, lists of
    them as several (bounded), anything else (objects) left out."""
    out: dict[str, list[str]] = {}
    for name, value in claims.items():
        items = value[:MAX_CLAIM_VALUES] if isinstance(value, list) else [value]
        strings = [
            str(v) for v in items if isinstance(v, str | int | float) and not isinstance(v, bool)
        ]
        if strings:
            out[name] = strings
    return out


def verified_email(
    attributes: Mapping[str, Sequence[str]],
    claims: Mapping[str, Any],
    claim_map: Mapping[str, Any],
    *,
    require_verified: bool,
) -> str | None:
    """The email the claims carry, lower-cased, if the OP vouches for it (see the module
    doc); ``None`` when there is none; :class:`EmailNotVerified` when it does not vouch."""
    email = first_value(attributes, claim_map, "email")
    if not email or "@" not in email:
        return None
    verified = claims.get("email_verified")
    if verified is False or verified == "false" or (require_verified and verified is not True):
        raise EmailNotVerified(email)
    return email.strip().lower()


async def find_oidc_user(
    s: AsyncSession, tenant_id: str, match_by: str, sub: str, email: str | None
) -> Identity | None:
    """The tenant's directory user the sign-in names: by verified email, or by ``sub``
    against externalId (``match_by``)."""
    if match_by == "sub":
        return await find_by(s, tenant_id, "external_id", sub)
    if email is None:
        return None
    return await find_by(s, tenant_id, "email", email)
