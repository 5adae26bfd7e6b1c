"""OIDC connections of a tenant (Propylon as relying party): the record sign-in reads, and
creating, listing and showing them.

:class:`OidcConnectionRecord` is what the sign-in and back-channel logout read: one prebuilt
Core statement (:func:`load_oidc_connection`), secrets still sealed. A disabled connection is
invisible to them. The CLI and the management API call :mod:`propylon.admin.oidc_connections`,
which checks the issuer's discovery document first and then calls these; changes and deletion
are in :mod:`propylon.tenants.oidc_connection_edits`. The client secret and private key are
sealed at rest (``crypto/secretbox.py``), bound to the connection id, and never shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.crypto.secretbox import CLIENT_SECRET, OIDC_CLIENT_KEY, SecretBox
from propylon.db.tables import core
from propylon.db.tables_oidc import OidcConnection
from propylon.errors import InvalidInput, NotFound
from propylon.ids import Kind, plausible
from propylon.tenants import oidc_client_rules as rules
from propylon.tenants.connection_ids import check_new_id
from propylon.tenants.oidc_client_rules import AUTH_METHODS as AUTH_METHODS
from propylon.tenants.oidc_presets import DEFAULT_PRESET, build_claim_map
from propylon.tenants.service import get_tenant

MATCH_BY = ("email", "sub")
"""How a sign-in finds its directory user: the verified ``email`` claim, or ``sub`` (the
user's ``externalId``)."""
MAX_NAME = 255


def rp_urls(public_url: str, connection_id: str) -> dict[str, str]:
    """The URLs an IdP admin registers for the connection."""
    base = f"{public_url.rstrip('/')}/oidc/{connection_id}"
    return {
        "redirect_uri": f"{base}/callback",
        "backchannel_logout_uri": f"{base}/backchannel-logout",
        "login_url": f"{base}/login",
        "post_logout_redirect_uri": f"{base}/signed-out",
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
_ANY = select(*RECORD_COLUMNS).where(_CONNECTIONS.c.id == bindparam("id"))
_RECORD = _ANY.where(LIVE)


def oidc_record(row: Sequence[Any]) -> OidcConnectionRecord:
    values = list(row[: len(RECORD_COLUMNS)])
    values[7], values[8] = tuple(values[7]), tuple(values[8])
    return OidcConnectionRecord(*values)


async def load_oidc_connection(
    session: AsyncSession, connection_id: str, *, live_only: bool = True
) -> OidcConnectionRecord:
    """The live connection, or :class:`NotFound` (also when it is disabled, unless
    ``live_only`` is false: a draft is testable, never usable for a sign-in)."""
    if not plausible(connection_id):  # a NUL or overlong id is no row (and no 500)
        raise NotFound(f"no such connection {connection_id[:64]!r}")
    conn = await session.connection()
    query = _RECORD if live_only else _ANY
    row = (await conn.execute(query, {"id": connection_id})).first()
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


@dataclass(frozen=True)
class OidcConnectionDraft:
    """A new connection as the operator gave it; :func:`create_connection` checks it all."""

    issuer: str
    client_id: str
    client_secret: str | None = None
    private_key_pem: str | None = None
    auth_method: str | None = None
    """``None``: ``private_key_jwt`` with a key, else ``client_secret_basic``."""
    scopes: Sequence[str] = ()
    """Empty: ``openid email profile``; ``openid`` is always added."""
    trusted_audiences: Sequence[str] = ()
    preset: str = DEFAULT_PRESET
    claim_overrides: Mapping[str, Any] | None = None
    """Field -> claim name(s), over the preset."""
    jit: bool = False
    name: str | None = None
    match_by: str = "email"
    use_userinfo: bool = False
    connection_id: str | None = None
    """An id chosen beforehand (``connection_ids.check_new_id``); ``None``: a new one."""
    disabled: bool = False
    """A draft (the setup portal's): invisible to sign-in until enabled, testable meanwhile."""


def connection_name(value: str) -> str:
    name = value.strip()
    if not 0 < len(name) <= MAX_NAME:
        raise InvalidInput(f"name must be 1 to {MAX_NAME} characters")
    return rules.printable(name, "name", MAX_NAME)


def check_match_by(value: str) -> str:
    if value not in MATCH_BY:
        raise InvalidInput(f"match_by must be one of {', '.join(MATCH_BY)}")
    return value


async def create_connection(
    s: AsyncSession, tenant_ref: str, draft: OidcConnectionDraft, *, now: datetime, box: SecretBox
) -> OidcConnection:
    """Store a new connection of the tenant, its credential sealed. The issuer's discovery is
    the caller's to check (it fetches over the network, outside any transaction)."""
    tenant = await get_tenant(s, tenant_ref)
    issuer = rules.issuer_url(draft.issuer).issuer
    client = rules.client_id(draft.client_id)
    secret = rules.client_secret(draft.client_secret) if draft.client_secret is not None else None
    key = rules.client_key(draft.private_key_pem) if draft.private_key_pem is not None else None
    method = rules.auth_method(
        draft.auth_method, has_secret=secret is not None, has_key=key is not None
    )
    conn_id = await check_new_id(s, OidcConnection, Kind.OIDC_CONNECTION, draft.connection_id)
    conn = OidcConnection(
        id=conn_id,
        tenant_id=tenant.id,
        name=connection_name(draft.name) if draft.name is not None else f"{tenant.name} OIDC",
        issuer=issuer,
        client_id=client,
        client_secret=seal_client_secret(box, conn_id, secret) if secret is not None else None,
        private_key_pem=seal_client_key(box, conn_id, key.pem) if key is not None else None,
        auth_method=method,
        scopes=rules.scopes(draft.scopes),
        trusted_audiences=rules.audiences(draft.trusted_audiences, client),
        preset=draft.preset,
        claim_map=build_claim_map(draft.preset, draft.claim_overrides),
        use_userinfo=draft.use_userinfo,
        jit=draft.jit,
        match_by=check_match_by(draft.match_by),
        created_at=now,
        updated_at=now,
        disabled_at=now if draft.disabled else None,
    )
    s.add(conn)
    await s.flush()
    return conn


async def get_connection(s: AsyncSession, connection_id: str) -> OidcConnection:
    """The connection, disabled or not, or :class:`NotFound`."""
    conn = await s.get(OidcConnection, connection_id) if plausible(connection_id) else None
    if conn is None:
        raise NotFound(f"no OIDC connection {connection_id!r}")
    return conn


async def list_connections(s: AsyncSession, tenant_ref: str) -> list[OidcConnection]:
    tenant = await get_tenant(s, tenant_ref)
    rows = await s.scalars(
        select(OidcConnection)
        .where(OidcConnection.tenant_id == tenant.id)
        .order_by(OidcConnection.created_at, OidcConnection.id)
    )
    return list(rows.all())


def client_jwks(box: SecretBox, conn: OidcConnection) -> dict[str, Any] | None:
    """The public JWK Set of a ``private_key_jwt`` connection's key, to register at the IdP."""
    if conn.private_key_pem is None:
        return None
    pem = box.open_text(conn.private_key_pem, OIDC_CLIENT_KEY, conn.id)
    return {"keys": [rules.client_key(pem).public_jwk]}


def view(conn: OidcConnection, public_url: str, box: SecretBox) -> dict[str, Any]:
    """What the operator sees: settings and the URLs to register, never the secret or key."""
    out: dict[str, Any] = {
        "connection_id": conn.id,
        "tenant_id": conn.tenant_id,
        "name": conn.name,
        **rp_urls(public_url, conn.id),
        "issuer": conn.issuer,
        "client_id": conn.client_id,
        "auth_method": conn.auth_method,
        "scopes": list(conn.scopes),
        "trusted_audiences": list(conn.trusted_audiences),
        "preset": conn.preset,
        "claim_map": conn.claim_map,
        "jit": conn.jit,
        "match_by": conn.match_by,
        "userinfo": conn.use_userinfo,
        "disabled": conn.disabled_at is not None,
        "created_at": conn.created_at.isoformat(),
        "updated_at": conn.updated_at.isoformat(),
    }
    jwks = client_jwks(box, conn)
    if jwks is not None:
        out["client_jwks"] = jwks
    return out


def reseal_client_secret(box: SecretBox, connection_id: str, sealed: str) -> str:
    """The stored secret sealed again under the box's first key (``propylon secrets rotate``)."""
    plain = box.open_text(sealed, CLIENT_SECRET, connection_id)
    return seal_client_secret(box, connection_id, plain)


def reseal_client_key(box: SecretBox, connection_id: str, sealed: str) -> str:
    """The stored private key sealed again under the box's first key."""
    return seal_client_key(
        box, connection_id, box.open_text(sealed, OIDC_CLIENT_KEY, connection_id)
    )
