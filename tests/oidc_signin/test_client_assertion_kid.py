"""A ``private_key_jwt`` client assertion names its key: the ``kid`` is the RFC 7638 thumbprint
the connection printed as ``client_jwks`` for the IdP admin to register, so an IdP holding
several keys for the client (a rotation) finds the right one."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from propylon.signin.oidc_rp import client_auth
from propylon.tenants.oidc_client_rules import client_key
from propylon.tenants.oidc_connections import OidcConnectionRecord, seal_client_key
from tests.conftest import Server


async def test_the_client_assertion_names_the_registered_key(server: Server) -> None:
    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    record = OidcConnectionRecord(
        id="oidc_kid_test",
        tenant_id="ten_x",
        issuer="https://idp.example.test",
        client_id="propylon",
        client_secret_sealed=None,
        private_key_sealed=seal_client_key(server.rt.secret_box, "oidc_kid_test", pem),
        auth_method="private_key_jwt",
        scopes=("openid",),
        trusted_audiences=(),
        claim_map={},
        use_userinfo=False,
        jit=False,
        match_by="email",
    )
    auth = client_auth(server.rt, record)
    assert auth.method == "private_key_jwt" and auth.private_key_pem == pem
    assert auth.private_key_id == client_key(pem).public_jwk["kid"]
    assert auth.private_key_id  # a thumbprint, never empty
