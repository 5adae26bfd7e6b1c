"""Where the test IdP is and what to trust of it: for the portal and the demo, which create
connections to it without fetching a URL, and for the test IdP's own routes.

URLs (under ``PROPYLON_PUBLIC_URL``): SAML entity id ``/test-idp/saml``, metadata
``/test-idp/saml/metadata``, SSO ``/test-idp/saml/sso``, IdP-initiated
``/test-idp/saml/start?connection_id=…``; OpenID Provider issuer ``/test-idp/oidc``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final, ParamSpec, Protocol, TypeVar

from propylon.crypto.secretbox import SecretBox
from propylon.settings import Settings
from propylon.testidp.keys import TestIdpKeyCache, TestIdpKeys
from propylon.testidp.saml_idp import build_idp_metadata

P = ParamSpec("P")
R = TypeVar("R")


def _not_a_test(fn: Callable[P, R]) -> Callable[P, R]:
    """Mark a ``test_…`` helper so pytest does not collect it where a test module imports it."""
    fn.__test__ = False  # type: ignore[attr-defined]
    return fn


__all__ = [
    "CLIENT_PREFIX",
    "TestIdpSaml",
    "oidc_issuer",
    "saml_entity_id",
    "saml_identity",
    "test_client",
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

    @property
    def test_idp_keys(self) -> TestIdpKeyCache: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...


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


@_not_a_test
async def test_keys(rt: Runtime) -> TestIdpKeys:
    """The installation's test IdP keys (read, or made and stored, once per process)."""
    return await rt.test_idp_keys.get(rt.clock())


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


@_not_a_test
def test_client_secret(rt: Runtime, client_id: str) -> str:
    """The secret of the test OpenID Provider's client ``client_id`` (which must start with
    ``test-client-``): HMAC-SHA256 of the id under a subkey of the server secret."""
    if not client_id.startswith(CLIENT_PREFIX):
        raise ValueError(f"test IdP client ids start with {CLIENT_PREFIX!r}")
    key = rt.secret_box.subkey("test-idp/oidc-client-secret")
    return hmac.new(key, client_id.encode(), hashlib.sha256).hexdigest()


@_not_a_test
def test_client(rt: Runtime, label: str) -> tuple[str, str]:
    """A client of the test OpenID Provider for ``label`` (a tenant slug, say): its id
    ``test-client-<label>`` (other characters than letters, digits, ``-`` and ``_`` become
    ``-``) and secret, to fill in an OIDC connection to ``oidc_issuer(public_url)``."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "-" for c in label)
    client_id = CLIENT_PREFIX + (safe[:64] or "client")
    return client_id, test_client_secret(rt, client_id)
