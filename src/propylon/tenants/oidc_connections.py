"""OIDC connections of a tenant, as sign-in reads them (Propylon as relying party).

:class:`OidcConnectionRecord` is what the sign-in and back-channel logout read: one prebuilt
Core statement (:func:`load_oidc_connection`), secrets still sealed. A disabled connection is
invisible to them. Creating, editing and listing connections live beside it, called by
:mod:`propylon.admin.oidc_connections` (the CLI and the management API).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.crypto.secretbox import CLIENT_SECRET, OIDC_CLIENT_KEY, SecretBox
from propylon.db.tables import core
from propylon.db.tables_oidc import OidcConnection
from propylon.errors import NotFound

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")
"""Token endpoint client authentication methods (OpenID Connect Core §9)."""
MATCH_BY = ("email", "sub")


def rp_urls(public_url: str, connection_id: str) -> dict[str, str]:
    """The URLs an IdP admin registers for the connection."""
    base = f"{public_url.rstrip('/')}/oidc/{connection_id}"
    return {
        "redirect_uri": f"{base}/callback",
        "backchannel_logout_uri": f"{base}/backchannel-logout",
        "login_url": f"{base}/login",
    }


@dataclass(frozen=True)
class OidcConnectionRecord:
    id: str
    tenant_id: str
    issuer: str
    client_id: str
    client_secret_sealed: str | None
    private_key_sealed: str | None
    auth_method: str
    scopes: tuple[str, ...]
    trusted_audiences: tuple[str, ...]
    claim_map: dict[str, Any]
    use_userinfo: bool
    jit: bool
    match_by: str


_CONNECTIONS = core(OidcConnection)
RECORD_COLUMNS = (
    _CONNECTIONS.c.id,
    _CONNECTIONS.c.tenant_id,
    _CONNECTIONS.c.issuer,
    _CONNECTIONS.c.client_id,
    _CONNECTIONS.c.client_secret,
    _CONNECTIONS.c.private_key_pem,
    _CONNECTIONS.c.auth_method,
    _CONNECTIONS.c.scopes,
    _CONNECTIONS.c.trusted_audiences,
    _CONNECTIONS.c.claim_map,
    _CONNECTIONS.c.use_userinfo,
    _CONNECTIONS.c.jit,
    _CONNECTIONS.c.match_by,
)
LIVE = _CONNECTIONS.c.disabled_at.is_(None)
_RECORD = select(*RECORD_COLUMNS).where(_CONNECTIONS.c.id == bindparam("id"), LIVE)


def oidc_record(row: Sequence[Any]) -> OidcConnectionRecord:
    values = list(row[: len(RECORD_COLUMNS)])
    values[7], values[8] = tuple(values[7]), tuple(values[8])
    return OidcConnectionRecord(*values)


async def load_oidc_connection(session: AsyncSession, connection_id: str) -> OidcConnectionRecord:
    """The live connection, or :class:`NotFound` (also when it is disabled)."""
    conn = await session.connection()
    row = (await conn.execute(_RECORD, {"id": connection_id})).first()
    if row is None:
        raise NotFound(f"no OIDC connection {connection_id!r}")
    return oidc_record(row)


def seal_client_secret(box: SecretBox, connection_id: str, secret: str) -> str:
    return box.seal_text(secret, CLIENT_SECRET, connection_id)


def open_client_secret(box: SecretBox, record: OidcConnectionRecord) -> str | None:
    if record.client_secret_sealed is None:
        return None
    return box.open_text(record.client_secret_sealed, CLIENT_SECRET, record.id)


def seal_client_key(box: SecretBox, connection_id: str, pem: str) -> str:
    return box.seal_text(pem, OIDC_CLIENT_KEY, connection_id)


def open_client_key(box: SecretBox, record: OidcConnectionRecord) -> str | None:
    if record.private_key_sealed is None:
        return None
    return box.open_text(record.private_key_sealed, OIDC_CLIENT_KEY, record.id)
