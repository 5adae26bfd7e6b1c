"""The OpenID Providers Propylon signs people in through, as sign-in and logout read them: a
tenant's OIDC connection (``oidc_connections``) or Google, the platform-wide provider whose
record is built from settings (``PROPYLON_GOOGLE_*``), not stored; and what talking to one
needs: its metadata and keys (the runtime's :class:`~propylon.oidc.discovery.ProviderCache`)
and the client authentication at its token endpoint (OpenID Connect Core §9), the secret or
key opened from the secret box, or for Google read from the environment."""

from __future__ import annotations

from propylon.errors import NotFound
from propylon.oidc.jose import KeyResolver
from propylon.oidc.metadata import ProviderMetadata
from propylon.oidc.token_client import AuthMethod, ClientAuth
from propylon.outbound import Fetcher, GuardedFetcher
from propylon.runtime import Runtime
from propylon.tenants.oidc_client_rules import client_key
from propylon.tenants.oidc_connections import (
    OidcConnectionRecord,
    load_oidc_connection,
    open_client_key,
    open_client_secret,
)

GOOGLE = "google"
"""The connection id of Google sign-in (callback ``/oidc/google/callback``)."""
GOOGLE_CLAIM_MAP = {
    "email": ["email"],
    "given_name": ["given_name"],
    "family_name": ["family_name"],
    "display_name": ["name"],
}


def google_record(rt: Runtime) -> OidcConnectionRecord:
    """Google as a connection: no tenant (decided per person at the callback), JIT by
    verified email; :class:`NotFound` when Google sign-in is not configured."""
    s = rt.settings
    if not s.google_client_id or not s.google_client_secret.get_secret_value():
        raise NotFound("Google sign-in is not configured")
    return OidcConnectionRecord(
        id=GOOGLE,
        tenant_id="",
        issuer=s.google_issuer,
        client_id=s.google_client_id,
        client_secret_sealed=None,
        private_key_sealed=None,
        auth_method="client_secret_basic",
        scopes=("openid", "email", "profile"),
        trusted_audiences=(),
        claim_map=GOOGLE_CLAIM_MAP,
        use_userinfo=False,
        jit=True,
        match_by="email",
    )


async def load_rp(rt: Runtime, connection_id: str) -> OidcConnectionRecord:
    """The live connection (or Google); :class:`NotFound` otherwise."""
    if connection_id == GOOGLE:
        return google_record(rt)
    async with rt.db.read() as s:
        return await load_oidc_connection(s, connection_id)


def _method(conn: OidcConnectionRecord) -> AuthMethod:
    if conn.auth_method == "client_secret_post":
        return "client_secret_post"
    if conn.auth_method == "private_key_jwt":
        return "private_key_jwt"
    return "client_secret_basic"


def client_auth(rt: Runtime, conn: OidcConnectionRecord) -> ClientAuth:
    """How the connection authenticates at the token endpoint, its secret opened."""
    if conn.id == GOOGLE:
        secret: str | None = rt.settings.google_client_secret.get_secret_value()
        return ClientAuth(_method(conn), conn.client_id, secret, None)
    pem = open_client_key(rt.secret_box, conn)
    # the assertion names its key (RFC 7515 §4.1.4) by the thumbprint the IdP admin registered
    # (the connection's ``client_jwks``), so an IdP holding several keys finds this one
    kid = client_key(pem).public_jwk["kid"] if pem is not None else None
    return ClientAuth(
        _method(conn), conn.client_id, open_client_secret(rt.secret_box, conn), pem, kid
    )


async def metadata(rt: Runtime, conn: OidcConnectionRecord) -> ProviderMetadata:
    return await rt.oidc_providers.metadata(conn.issuer)


def keys_of(rt: Runtime, issuer: str) -> KeyResolver:
    """The issuer's signing keys by ``kid`` and ``alg`` (an unknown kid refetches the JWKS
    once, rate-limited by the cache)."""
    return rt.oidc_providers.resolver(issuer)


def fetcher(rt: Runtime) -> Fetcher:
    """Outbound requests to the OP, through the one guard (``outbound/``)."""
    return GuardedFetcher(rt.outbound)
