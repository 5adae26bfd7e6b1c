"""The typed principal a verified access token stands for (RFC 9068 §2.2 claims plus
Propylon's identity and entitlement claims)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Source = Literal["token", "view", "introspection"]
"""Where the entitlements come from: the token itself, a newer version pushed to the local
view, or an introspection answer (RFC 7662) read at the time of the request."""


@dataclass(frozen=True, slots=True)
class Entitlements:
    """A user's roles, feature tier and programs at one version."""

    version: int
    roles: tuple[str, ...]
    tier: str | None
    programs: tuple[str, ...]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Entitlements:
        version = data.get("version", data.get("entitlements_version"))
        tier = data.get("tier")
        return cls(
            version if isinstance(version, int) else -1,
            _strings(data.get("roles")),
            tier if isinstance(tier, str) else None,
            _strings(data.get("programs")),
        )


def _strings(value: Any) -> tuple[str, ...]:
    if type(value) is not list:
        return ()
    for v in value:
        if type(v) is not str:
            return tuple(x for x in value if isinstance(x, str))
    return tuple(value)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the user and tenant (``org_id``; ``None`` for the platform's individual
    accounts), what they may do (roles, tier, programs at ``entitlements_version``), how they
    signed in (``auth_method``, ``idp`` = the connection id), and which session (``sid``) and
    token family (``grant_id``) the token belongs to."""

    user_id: str
    tenant_id: str | None
    tenant_slug: str | None
    email: str | None
    roles: tuple[str, ...]
    tier: str | None
    programs: tuple[str, ...]
    entitlements_version: int | None
    auth_method: str | None
    idp: str | None
    session_id: str
    grant_id: str | None
    client_id: str | None
    scopes: frozenset[str]
    expires_at: int
    source: Source
    claims: Mapping[str, Any]

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def in_program(self, program: str) -> bool:
        return program in self.programs


def _str(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value if isinstance(value, str) else None


def principal_from(
    claims: Mapping[str, Any], entitlements: Entitlements | None, source: Source
) -> Principal:
    """The principal of verified ``claims``; ``entitlements`` replace the token's own."""
    if entitlements is None:
        roles, programs = _strings(claims.get("roles")), _strings(claims.get("programs"))
        tier = claims.get("tier")
        tier = tier if type(tier) is str else None
        v = claims.get("entitlements_version")
        version = v if type(v) is int and v >= 0 else None
    else:
        roles, tier, programs = entitlements.roles, entitlements.tier, entitlements.programs
        version = entitlements.version if entitlements.version >= 0 else None
    scope = claims.get("scope")
    return Principal(
        user_id=claims["sub"],
        tenant_id=_str(claims, "org_id"),
        tenant_slug=_str(claims, "org_slug"),
        email=_str(claims, "email"),
        roles=roles,
        tier=tier,
        programs=programs,
        entitlements_version=version,
        auth_method=_str(claims, "auth_method"),
        idp=_str(claims, "idp"),
        session_id=claims["sid"],
        grant_id=_str(claims, "grant_id"),
        client_id=_str(claims, "client_id"),
        scopes=frozenset(scope.split()) if isinstance(scope, str) else frozenset(),
        expires_at=claims["exp"],
        source=source,
        claims=claims,
    )
