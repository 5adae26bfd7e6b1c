"""The entitlements contract shared with the token claims, the events and the SDK.

A user's entitlements are ``{"version", "roles", "tier", "programs"}``: roles and programs
are sets (sorted lists on the wire), the tier is one name or ``None``. ``version`` starts at 0
(nothing ever computed: no roles, no tier, no programs) and rises by one at every change, so
a holder of two copies keeps the one with the higher version.

Claims (ID token, access token, userinfo, introspection): ``roles`` and ``programs`` (arrays,
always present, possibly empty), ``tier`` (left out when none), ``entitlements_version``
(always). ``groups`` (the raw group names: SCIM groups and IdP group claims seen at sign-in)
only when the ``groups`` scope was granted.

Event ``user.entitlements_changed`` (subject ``user``): ``{"user": {...whole user...},
"entitlements": {...}, "previous": {...} | null}``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

EVENT_TYPE = "user.entitlements_changed"
CLAIM_ROLES = "roles"
CLAIM_TIER = "tier"
CLAIM_PROGRAMS = "programs"
CLAIM_VERSION = "entitlements_version"
CLAIM_GROUPS = "groups"
GROUPS_SCOPE = "groups"
CLAIMS = (CLAIM_ROLES, CLAIM_TIER, CLAIM_PROGRAMS, CLAIM_VERSION)
KINDS = ("role", "tier", "program")
"""What the platform's catalogue declares."""


@dataclass(frozen=True)
class Grant:
    """What rules grant a user (no version): the result of an evaluation."""

    roles: frozenset[str] = frozenset()
    tier: str | None = None
    programs: frozenset[str] = frozenset()

    @classmethod
    def of(cls, roles: Iterable[str], tier: str | None, programs: Iterable[str]) -> Grant:
        return cls(frozenset(roles), tier, frozenset(programs))


EMPTY = Grant()


@dataclass(frozen=True)
class Entitlements:
    """A user's stored entitlements with their version."""

    version: int
    grant: Grant = EMPTY

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "roles": sorted(self.grant.roles),
            "tier": self.grant.tier,
            "programs": sorted(self.grant.programs),
        }

    def claims(self) -> dict[str, Any]:
        """The token claims (tier left out when none, OpenID Connect Core §5.3.2)."""
        out: dict[str, Any] = {
            CLAIM_ROLES: sorted(self.grant.roles),
            CLAIM_PROGRAMS: sorted(self.grant.programs),
            CLAIM_VERSION: self.version,
        }
        if self.grant.tier is not None:
            out[CLAIM_TIER] = self.grant.tier
        return out


NONE = Entitlements(0)


def changed_data(
    user: dict[str, Any], new: Entitlements, previous: Entitlements | None
) -> dict[str, Any]:
    """The payload of :data:`EVENT_TYPE`."""
    return {
        "user": user,
        "entitlements": new.as_dict(),
        "previous": previous.as_dict() if previous is not None else None,
    }
