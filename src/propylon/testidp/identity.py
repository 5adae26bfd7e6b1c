"""Where the test IdP is and what to trust of it: for the portal and the demo, which create
connections to it without fetching a URL, and for the test IdP's own routes.

URLs (under ``PROPYLON_PUBLIC_URL``): SAML entity id ``/test-idp/saml``, metadata
``/test-idp/saml/metadata``, SSO ``/test-idp/saml/sso``, IdP-initiated
``/test-idp/saml/start?connection_id=…``; OpenID Provider issuer ``/test-idp/oidc``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from dataclasses import dataclass
from typing import Final, Protocol

from propylon.crypto.secretbox import SecretBox
from propylon.settings import Settings
from propylon.testidp.keys import TestIdpKeys, keys_of
from propylon.testidp.saml_idp import build_idp_metadata

__all__ = [
    "CLIENT_PREFIX",
    "TestIdpSaml",
    "oidc_issuer",
    "saml_entity_id",
    "saml_identity",
    "test_client_secret",
    "test_keys",
]

CLIENT_PREFIX: Final = "test-client-"
"""Client ids the test OpenID Provider accepts (registered implicitly)."""


class Runtime(Protocol):
    """What the test IdP needs of :class:`propylon.runtime.Runtime` (which it cannot import:
    only ``api/``, ``cli/``, ``admin/`` and ``signin/`` take the runtime itself)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def secret_box(self) -> SecretBox: ...


@dataclass(frozen=True)
class TestIdpSaml:
    """The test IdP as a SAML connection needs it."""

    entity_id: str
    sso_url: str
    metadata_xml: bytes
    certificate_pem: str


def _base(public_url: str) -> str:
    return f"{public_url.rstrip('/')}/test-idp"


def saml_entity_id(public_url: str) -> str:
    return f"{_base(public_url)}/saml"


def saml_sso_url(public_url: str) -> str:
    return f"{_base(public_url)}/saml/sso"


def oidc_issuer(public_url: str) -> str:
    return f"{_base(public_url)}/oidc"


async def test_keys(rt: Runtime) -> TestIdpKeys:
    """The installation's test IdP keys (derived once per process, off the event loop)."""
    return await asyncio.to_thread(keys_of, rt.secret_box)


async def saml_identity(rt: Runtime) -> TestIdpSaml:
    """Entity id, SSO URL, metadata and certificate of the test IdP's SAML side."""
    keys = await test_keys(rt)
    entity_id = saml_entity_id(rt.settings.public_url)
    sso_url = saml_sso_url(rt.settings.public_url)
    return TestIdpSaml(
        entity_id=entity_id,
        sso_url=sso_url,
        metadata_xml=build_idp_metadata(entity_id, sso_url, keys.saml),
        certificate_pem=keys.saml.certificate_pem,
    )


def test_client_secret(rt: Runtime, client_id: str) -> str:
    """The secret of the test OpenID Provider's client ``client_id`` (which must start with
    ``test-client-``): HMAC-SHA256 of the id under a subkey of the server secret."""
    if not client_id.startswith(CLIENT_PREFIX):
        raise ValueError(f"test IdP client ids start with {CLIENT_PREFIX!r}")
    key = rt.secret_box.subkey("test-idp/oidc-client-secret")
    return hmac.new(key, client_id.encode(), hashlib.sha256).hexdigest()
