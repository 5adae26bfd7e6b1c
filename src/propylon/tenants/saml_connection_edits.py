"""Changing, disabling and deleting a tenant's SAML connection.

Every change names only what it changes (``None``: unchanged) and returns the before/after of
each field for the audit trail. New IdP settings (metadata file or URL, or the three values by
hand) replace the old ones at once, certificates included: the next Response is checked
against the new pins. Deleting a connection unbinds the domains bound to it and removes its
pending requests; the users it signed in stay in the directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import TenantDomain
from propylon.db.tables_saml import SamlConnection
from propylon.db.tables_setup import ConnectionTestRow
from propylon.errors import InvalidInput
from propylon.tenants.attribute_maps import build_map
from propylon.tenants.saml_connections import (
    MATCH_BY,
    IdpSource,
    apply_metadata,
    check_landing_app,
    get_connection,
    parse_metadata,
)
from propylon.tenants.saml_keys import cert_pem


@dataclass(frozen=True)
class ConnectionChanges:
    name: str | None = None
    source: IdpSource | None = None
    allow_idp_initiated: bool | None = None
    idp_initiated_app: str | None = None
    """A ``client_id``; ``""`` clears it (the only confidential app again)."""
    jit: bool | None = None
    match_by: str | None = None
    preset: str | None = None
    """Rebuild the attribute map from this preset (with ``attribute_overrides``)."""
    attribute_overrides: dict[str, Any] | None = None
    """Field → attribute name(s), on top of the preset (or of the current map)."""
    disabled: bool | None = None


_AUDITED = (
    "name",
    "idp_entity_id",
    "sso_url",
    "slo_url",
    "metadata_url",
    "allow_idp_initiated",
    "idp_initiated_client_id",
    "jit",
    "match_by",
    "attribute_map",
)


def _snapshot(conn: SamlConnection) -> dict[str, Any]:
    snap = {f: getattr(conn, f) for f in _AUDITED}
    snap["idp_certificates"] = len(conn.idp_certificates.get("pem", []))
    snap["disabled"] = conn.disabled_at is not None
    return snap


def _apply_source(conn: SamlConnection, source: IdpSource, now: datetime) -> None:
    if source.metadata_xml is not None:
        apply_metadata(conn, parse_metadata(source.metadata_xml))
        conn.metadata_url = source.metadata_url
        conn.metadata_refreshed_at = now
        return
    if not (source.sso_url and source.idp_entity_id and source.certificates):
        raise InvalidInput("give IdP metadata, or the SSO URL, IdP entity id and certificate")
    for url in (source.sso_url, source.slo_url):
        if url is not None and not url.startswith(("https://", "http://")):
            raise InvalidInput("IdP URLs must be http(s) URLs")
    conn.idp_entity_id, conn.sso_url, conn.slo_url = (
        source.idp_entity_id,
        source.sso_url,
        source.slo_url,
    )
    conn.slo_response_url = None
    conn.idp_certificates = {"pem": [cert_pem(c) for c in source.certificates]}
    conn.metadata_url = None


async def update_connection(
    s: AsyncSession, connection_id: str, changes: ConnectionChanges, now: datetime
) -> tuple[SamlConnection, dict[str, dict[str, Any]]]:
    """Apply ``changes``; returns the connection and the audit diff of what changed."""
    conn = await get_connection(s, connection_id)
    before = _snapshot(conn)
    if changes.name is not None:
        if not changes.name.strip() or len(changes.name) > 255:
            raise InvalidInput("name must be 1 to 255 characters")
        conn.name = changes.name.strip()
    if changes.source is not None:
        _apply_source(conn, changes.source, now)
    if changes.allow_idp_initiated is not None:
        conn.allow_idp_initiated = changes.allow_idp_initiated
    if changes.idp_initiated_app is not None:
        conn.idp_initiated_client_id = (
            await check_landing_app(s, changes.idp_initiated_app)
            if changes.idp_initiated_app
            else None
        )
    if changes.jit is not None:
        conn.jit = changes.jit
    if changes.match_by is not None:
        if changes.match_by not in MATCH_BY:
            raise InvalidInput(f"match_by must be one of {', '.join(MATCH_BY)}")
        conn.match_by = changes.match_by
    if changes.preset is not None:
        conn.attribute_map = build_map(changes.preset, changes.attribute_overrides)
    elif changes.attribute_overrides:
        conn.attribute_map = {**conn.attribute_map, **build_map_overrides(changes)}
    if changes.disabled is not None:
        conn.disabled_at = (conn.disabled_at or now) if changes.disabled else None
    conn.updated_at = now
    await s.flush()
    after = _snapshot(conn)
    diff = {k: {"before": before[k], "after": after[k]} for k in after if before[k] != after[k]}
    return conn, diff


def build_map_overrides(changes: ConnectionChanges) -> dict[str, list[str]]:
    """Only the overridden fields, validated like a preset's."""
    full = build_map("generic", changes.attribute_overrides)
    return {field: full[field] for field in changes.attribute_overrides or {}}


async def delete_connection(s: AsyncSession, connection_id: str) -> SamlConnection:
    """Remove the connection and its test results; domains bound to it are unbound (their
    logins are refused while the tenant has several connections, never sent to another one
    silently)."""
    conn = await get_connection(s, connection_id)
    await s.execute(
        update(TenantDomain).where(TenantDomain.connection_id == conn.id).values(connection_id=None)
    )
    await s.execute(delete(ConnectionTestRow).where(ConnectionTestRow.connection_id == conn.id))
    await s.delete(conn)
    await s.flush()
    return conn
