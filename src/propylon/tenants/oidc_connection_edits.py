"""Changing, disabling and deleting a tenant's OIDC connection.

A change names only what it changes (``None``: unchanged) and returns the before/after of each
field for the audit trail; a new client secret or key is recorded as new, never shown. The
credential always matches the authentication method: switching to ``private_key_jwt`` needs a
key and drops the secret, switching to a secret method needs a secret and drops the key.
Deleting a connection unbinds the domains bound to it and forgets the tokens it accepted; the
users it signed in stay in the directory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.crypto.secretbox import SecretBox
from propylon.db.tables import TenantDomain
from propylon.db.tables_oidc import OidcConnection, OidcTokenUse
from propylon.db.tables_setup import ConnectionTestRow
from propylon.tenants import oidc_client_rules as rules
from propylon.tenants.oidc_connections import (
    check_match_by,
    connection_name,
    get_connection,
    seal_client_key,
    seal_client_secret,
)
from propylon.tenants.oidc_presets import build_claim_map, claim_overrides


@dataclass(frozen=True)
class OidcConnectionChanges:
    name: str | None = None
    issuer: str | None = None
    """A new issuer; the caller has checked its discovery document."""
    client_id: str | None = None
    client_secret: str | None = None
    private_key_pem: str | None = None
    auth_method: str | None = None
    scopes: Sequence[str] | None = None
    trusted_audiences: Sequence[str] | None = None
    preset: str | None = None
    """Rebuild the claim map from this preset (with ``claim_overrides``)."""
    claim_overrides: Mapping[str, Any] | None = None
    """Field -> claim name(s), on top of the preset (or of the current map)."""
    jit: bool | None = None
    match_by: str | None = None
    use_userinfo: bool | None = None
    disabled: bool | None = None


_AUDITED = (
    "name",
    "issuer",
    "client_id",
    "auth_method",
    "scopes",
    "trusted_audiences",
    "preset",
    "claim_map",
    "jit",
    "match_by",
    "use_userinfo",
)


def _snapshot(conn: OidcConnection) -> dict[str, Any]:
    snap = {f: getattr(conn, f) for f in _AUDITED}
    snap["disabled"] = conn.disabled_at is not None
    snap["credential"] = "private_key" if conn.private_key_pem is not None else "client_secret"
    return snap


def _method(conn: OidcConnection, changes: OidcConnectionChanges) -> str:
    """The method after the change: as given, else implied by a new credential of the other
    kind, else unchanged."""
    if changes.auth_method is not None:
        return changes.auth_method
    if changes.private_key_pem is not None:
        return "private_key_jwt"
    if changes.client_secret is not None and conn.auth_method not in rules.SECRET_METHODS:
        return "client_secret_basic"
    return conn.auth_method


def _apply_credential(conn: OidcConnection, changes: OidcConnectionChanges, box: SecretBox) -> bool:
    """Set the method and its one credential; whether a new credential replaced the old."""
    secret = changes.client_secret
    key = changes.private_key_pem
    method = _method(conn, changes)
    uses_key = method == "private_key_jwt"
    has_secret = secret is not None or (conn.client_secret is not None and not uses_key)
    has_key = key is not None or (conn.private_key_pem is not None and uses_key)
    conn.auth_method = rules.auth_method(method, has_secret=has_secret, has_key=has_key)
    if secret is not None:
        conn.client_secret = seal_client_secret(box, conn.id, rules.client_secret(secret))
    if key is not None:
        conn.private_key_pem = seal_client_key(box, conn.id, rules.client_key(key).pem)
    if uses_key:
        conn.client_secret = None
    else:
        conn.private_key_pem = None
    return secret is not None or key is not None


async def update_connection(
    s: AsyncSession,
    connection_id: str,
    changes: OidcConnectionChanges,
    now: datetime,
    box: SecretBox,
) -> tuple[OidcConnection, dict[str, dict[str, Any]]]:
    """Apply ``changes``; returns the connection and the audit diff of what changed."""
    conn = await get_connection(s, connection_id)
    before = _snapshot(conn)
    if changes.name is not None:
        conn.name = connection_name(changes.name)
    if changes.issuer is not None:
        conn.issuer = rules.issuer_url(changes.issuer).issuer
    if changes.client_id is not None:
        conn.client_id = rules.client_id(changes.client_id)
    replaced = _apply_credential(conn, changes, box)
    if changes.scopes is not None:
        conn.scopes = rules.scopes(changes.scopes)
    given = changes.trusted_audiences
    audiences = conn.trusted_audiences if given is None else given
    conn.trusted_audiences = rules.audiences(audiences, conn.client_id)  # a new client_id too
    if changes.preset is not None:
        conn.claim_map = build_claim_map(changes.preset, changes.claim_overrides)
        conn.preset = changes.preset
    elif changes.claim_overrides:
        conn.claim_map = {**conn.claim_map, **claim_overrides(changes.claim_overrides)}
    if changes.jit is not None:
        conn.jit = changes.jit
    if changes.match_by is not None:
        conn.match_by = check_match_by(changes.match_by)
    if changes.use_userinfo is not None:
        conn.use_userinfo = changes.use_userinfo
    if changes.disabled is not None:
        conn.disabled_at = (conn.disabled_at or now) if changes.disabled else None
    conn.updated_at = now
    await s.flush()
    after = _snapshot(conn)
    diff = {k: {"before": before[k], "after": after[k]} for k in after if before[k] != after[k]}
    if replaced:  # what it is, never its value
        diff["credential"] = {"before": before["credential"], "after": f"new {after['credential']}"}
    return conn, diff


async def delete_connection(s: AsyncSession, connection_id: str) -> OidcConnection:
    """Remove the connection and its test results; domains bound to it are unbound (their
    logins are refused while the tenant has several connections, never sent to another one
    silently)."""
    conn = await get_connection(s, connection_id)
    await s.execute(
        update(TenantDomain).where(TenantDomain.connection_id == conn.id).values(connection_id=None)
    )
    await s.execute(delete(OidcTokenUse).where(OidcTokenUse.connection_id == conn.id))
    await s.execute(delete(ConnectionTestRow).where(ConnectionTestRow.connection_id == conn.id))
    await s.delete(conn)
    await s.flush()
    return conn
