"""What the OIDC connection tests share: an OpenID Provider to discover (oidc-provider from
npm, ``tests/interop/oidc_op.py``), keys in PEM files, a tenant per test."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from propylon.admin import tenants
from propylon.admin.audited import CLI
from tests.conftest import Server
from tests.interop.oidc_op import has_oidc_provider

NEEDS_OP = pytest.mark.skipif(
    not has_oidc_provider(), reason="needs node and oidc-provider (scripts/test)"
)


async def new_tenant(server: Server) -> str:
    """A tenant with the domain ``{slug}.example`` (in-process: the CLI is what is tested)."""
    slug = f"oidc-{secrets.token_hex(4)}"
    await tenants.create_tenant(
        server.rt, CLI, slug=slug, name=slug.upper(), domains=[f"{slug}.example"], seats=None
    )
    return slug


def key_file(tmp_path: Path, key: PrivateKeyTypes, name: str = "client.pem") -> Path:
    path = tmp_path / name
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return path


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)
