"""SAML connections of a tenant: created from IdP metadata (file or URL) or by hand, with an
attribute mapping (:mod:`propylon.tenants.attribute_maps`). The CLI and the management API
both call :mod:`propylon.admin.saml_connections`, which calls these. A disabled connection
is invisible to sign-in and logout (:func:`load_connection` does not find it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.crypto.secretbox import SAML_SP_KEY, SecretBox, is_sealed
from propylon.db.tables import core
from propylon.db.tables_saml import SamlConnection
from propylon.db.tables_sso import OAuthClient
from propylon.errors import InvalidInput, NotFound
from propylon.ids import Kind, plausible
from propylon.saml import IdpMetadata, SamlValidationError, parse_idp_metadata
from propylon.tenants.attribute_maps import DEFAULT_PRESET as DEFAULT_PRESET
from propylon.tenants.attribute_maps import PRESETS as PRESETS
from propylon.tenants.attribute_maps import build_map
from propylon.tenants.connection_ids import check_new_id
from propylon.tenants.saml_keys import cert_pem, generate_sp_keypair, load_certificates
from propylon.tenants.service import get_tenant

MATCH_BY = ("email", "user_name", "external_id")


@dataclass(frozen=True)
class IdpSource:
    """Where the IdP's settings come from: metadata XML, or the three values by hand."""

    metadata_xml: bytes | None = None
    metadata_url: str | None = None
    sso_url: str | None = None
    idp_entity_id: str | None = None
    slo_url: str | None = None
    certificates: tuple[x509.Certificate, ...] = ()


def sp_urls(public_url: str, connection_id: str) -> dict[str, str]:
    base = f"{public_url.rstrip('/')}/saml/{connection_id}"
    return {
        "acs_url": f"{base}/acs",
        "sp_metadata_url": f"{base}/metadata",
        "slo_url": f"{base}/slo",
        "login_url": f"{base}/login",
    }


@dataclass(frozen=True)
class ConnectionRecord:
    """A connection as sign-in and logout read it: one prebuilt Core statement, no ORM
    instance (:func:`load_connection`)."""

    id: str
    tenant_id: str
    idp_entity_id: str
    sso_url: str
    slo_url: str | None
    slo_response_url: str | None
    idp_certificate_pems: tuple[str, ...]
    """Every trusted IdP signing certificate (PEM), as stored."""
    sp_entity_id: str
    sp_private_key_sealed: str
    """The SP private key as stored: sealed (:func:`open_sp_key`)."""
    sp_certificate_pem: str
    sign_requests: bool
    allow_idp_initiated: bool
    idp_initiated_client_id: str | None
    jit: bool
    match_by: str
    attribute_map: dict[str, Any]


_CONNECTIONS = core(SamlConnection)
CONNECTION_COLUMNS = (
    _CONNECTIONS.c.id,
    _CONNECTIONS.c.tenant_id,
    _CONNECTIONS.c.idp_entity_id,
    _CONNECTIONS.c.sso_url,
    _CONNECTIONS.c.slo_url,
    _CONNECTIONS.c.slo_response_url,
    _CONNECTIONS.c.idp_certificates,
    _CONNECTIONS.c.sp_entity_id,
    _CONNECTIONS.c.sp_private_key_pem,
    _CONNECTIONS.c.sp_certificate_pem,
    _CONNECTIONS.c.sign_requests,
    _CONNECTIONS.c.allow_idp_initiated,
    _CONNECTIONS.c.idp_initiated_client_id,
    _CONNECTIONS.c.jit,
    _CONNECTIONS.c.match_by,
    _CONNECTIONS.c.attribute_map,
)
"""The columns of a :class:`ConnectionRecord`, in order (see :func:`connection_record`)."""
LIVE = _CONNECTIONS.c.disabled_at.is_(None)
"""Sign-in and logout use only connections that are not disabled."""
_ANY = select(*CONNECTION_COLUMNS).where(_CONNECTIONS.c.id == bindparam("id"))
_RECORD = _ANY.where(LIVE)


def connection_record(row: Sequence[Any]) -> ConnectionRecord:
    """The connection in the first ``len(CONNECTION_COLUMNS)`` columns of ``row``."""
    values = list(row[: len(CONNECTION_COLUMNS)])
    values[6] = tuple(values[6]["pem"])  # idp_certificates: {"pem": [...]}
    return ConnectionRecord(*values)


async def load_connection(
    session: AsyncSession, connection_id: str, *, live_only: bool = True
) -> ConnectionRecord:
    """The connection, or :class:`NotFound` (also when it is disabled, unless ``live_only``
    is false: a draft is testable, never usable for a sign-in)."""
    if not plausible(connection_id):  # a NUL or overlong id is no row (and no 500)
        raise NotFound(f"no such connection {connection_id[:64]!r}")
    conn = await session.connection()
    query = _RECORD if live_only else _ANY
    row = (await conn.execute(query, {"id": connection_id})).first()
    if row is None:
        raise NotFound(f"no SAML connection {connection_id!r}")
    return connection_record(row)


def seal_sp_key(box: SecretBox, connection_id: str, pem: str) -> str:
    """The stored form of a connection's SP private key: sealed, bound to the connection."""
    return box.seal_text(pem, SAML_SP_KEY, connection_id)


def open_sp_key(box: SecretBox, connection_id: str, stored: str) -> str:
    """The SP private key PEM from its stored form (sealed, or plain in an old row)."""
    return box.open_text(stored, SAML_SP_KEY, connection_id) if is_sealed(stored) else stored


def slo_response_url(conn: ConnectionRecord) -> str | None:
    """Where LogoutResponses go: the IdP's SLO ``ResponseLocation``, else its ``Location``
    (SAML Metadata §2.2.2)."""
    return conn.slo_response_url or conn.slo_url


def view(
    conn: SamlConnection,
    public_url: str,
    *,
    now: datetime | None = None,
    expiry_warning_days: int = 30,
) -> dict[str, Any]:
    certs = load_certificates(conn.idp_certificates["pem"])
    horizon = (now or datetime.now(UTC)) + timedelta(days=expiry_warning_days)
    return {
        "connection_id": conn.id,
        "tenant_id": conn.tenant_id,
        "name": conn.name,
        "sp_entity_id": conn.sp_entity_id,
        **sp_urls(public_url, conn.id),
        "idp_entity_id": conn.idp_entity_id,
        "idp_sso_url": conn.sso_url,
        "idp_slo_url": conn.slo_url,
        "metadata_url": conn.metadata_url,
        "idp_certificates_expire": [c.not_valid_after_utc.isoformat() for c in certs],
        "expiring_soon": any(c.not_valid_after_utc <= horizon for c in certs),
        "allow_idp_initiated": conn.allow_idp_initiated,
        "idp_initiated_app": conn.idp_initiated_client_id,
        "jit": conn.jit,
        "match_by": conn.match_by,
        "attribute_map": conn.attribute_map,
        "disabled": conn.disabled_at is not None,
    }


def apply_metadata(conn: SamlConnection, md: IdpMetadata) -> None:
    sso = md.sso_url()
    if sso is None:
        raise InvalidInput("the IdP metadata has no HTTP-Redirect SingleSignOnService")
    slo = md.slo_endpoint()
    conn.idp_entity_id = md.entity_id
    conn.sso_url = sso
    conn.slo_url = slo.location if slo else None
    conn.slo_response_url = slo.response_location if slo else None
    conn.idp_certificates = {"pem": [cert_pem(c) for c in md.signing_certificates]}
    conn.sign_requests = conn.sign_requests or md.want_authn_requests_signed


def landing_problem(client: OAuthClient) -> str | None:
    """Why IdP-initiated logins cannot land in ``client`` (``None``: they can). A public
    client is refused: it must start its own sign-in with PKCE (RFC 7636), which an
    IdP-initiated login cannot do."""
    if client.revoked_at is not None:
        return "the app is revoked"
    if client.secret_hash is None:
        return "a public app cannot receive IdP-initiated logins (it needs PKCE)"
    if not client.redirect_uris.get("uris"):
        return "the app has no redirect URI"
    return None


async def check_landing_app(session: AsyncSession, client_id: str) -> str:
    client = await session.get(OAuthClient, client_id) if len(client_id) <= 64 else None
    if client is None:
        raise InvalidInput(f"no app with client_id {client_id!r}")
    problem = landing_problem(client)
    if problem is not None:
        raise InvalidInput(f"IdP-initiated logins cannot land in {client_id!r}: {problem}")
    return client.id


def parse_metadata(xml: bytes) -> IdpMetadata:
    try:
        return parse_idp_metadata(xml)
    except SamlValidationError as exc:
        raise InvalidInput(f"IdP metadata not usable: {exc.detail}") from None


async def create_connection(
    session: AsyncSession,
    tenant_ref: str,
    source: IdpSource,
    *,
    public_url: str,
    name: str | None,
    sp_entity_id: str | None,
    allow_idp_initiated: bool,
    jit: bool,
    preset: str,
    match_by: str,
    now: datetime,
    box: SecretBox,
    idp_initiated_app: str | None = None,
    attribute_overrides: dict[str, Any] | None = None,
    disabled: bool = False,
    connection_id: str | None = None,
) -> SamlConnection:
    """``disabled``: a draft, invisible to sign-in until enabled (testable meanwhile).
    ``connection_id``: an id chosen beforehand (:func:`check_new_id`), so the values an
    IdP admin pasted before the connection existed are its values."""
    tenant = await get_tenant(session, tenant_ref)
    attribute_map = build_map(preset, attribute_overrides)
    if match_by not in MATCH_BY:
        raise InvalidInput(f"match_by must be one of {', '.join(MATCH_BY)}")
    landing = await check_landing_app(session, idp_initiated_app) if idp_initiated_app else None
    conn_id = await check_new_id(session, SamlConnection, Kind.SAML_CONNECTION, connection_id)
    entity = sp_entity_id or f"{public_url.rstrip('/')}/saml/{conn_id}"
    if await session.scalar(select(SamlConnection.id).where(SamlConnection.sp_entity_id == entity)):
        raise InvalidInput(f"SP entity id {entity!r} is already used by another connection")
    key_pem, sp_cert = generate_sp_keypair(f"Propylon SP {tenant.slug}", now)
    conn = SamlConnection(
        id=conn_id,
        tenant_id=tenant.id,
        name=name or f"{tenant.name} SAML",
        sp_entity_id=entity,
        sp_private_key_pem=seal_sp_key(box, conn_id, key_pem),
        sp_certificate_pem=sp_cert,
        sign_requests=False,
        allow_idp_initiated=allow_idp_initiated,
        idp_initiated_client_id=landing,
        jit=jit,
        match_by=match_by,
        attribute_map=attribute_map,
        metadata_url=source.metadata_url,
        created_at=now,
        updated_at=now,
        disabled_at=now if disabled else None,
    )
    if source.metadata_xml is not None:
        apply_metadata(conn, parse_metadata(source.metadata_xml))
        conn.metadata_refreshed_at = now
    else:
        if not (source.sso_url and source.idp_entity_id and source.certificates):
            raise InvalidInput("give IdP metadata, or the SSO URL, IdP entity id and certificate")
        if not source.sso_url.startswith(("https://", "http://")):
            raise InvalidInput("the SSO URL must be an http(s) URL")
        conn.idp_entity_id = source.idp_entity_id
        conn.sso_url = source.sso_url
        if source.slo_url is not None and not source.slo_url.startswith(("https://", "http://")):
            raise InvalidInput("the SLO URL must be an http(s) URL")
        conn.slo_url = source.slo_url
        conn.idp_certificates = {"pem": [cert_pem(c) for c in source.certificates]}
    session.add(conn)
    await session.flush()
    return conn


async def get_connection(session: AsyncSession, connection_id: str) -> SamlConnection:
    conn = await session.get(SamlConnection, connection_id)
    if conn is None:
        raise NotFound(f"no SAML connection {connection_id!r}")
    return conn


async def list_connections(session: AsyncSession, tenant_id: str) -> list[SamlConnection]:
    rows = await session.scalars(
        select(SamlConnection)
        .where(SamlConnection.tenant_id == tenant_id)
        .order_by(SamlConnection.created_at)
    )
    return list(rows.all())


async def refresh_from_metadata(conn: SamlConnection, xml: bytes, now: datetime) -> None:
    """Apply freshly fetched metadata (new certificates are trusted at once; a certificate the
    IdP dropped stops being trusted)."""
    apply_metadata(conn, parse_metadata(xml))
    conn.metadata_refreshed_at = now
    conn.updated_at = now
