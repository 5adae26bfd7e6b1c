"""A server whose DNS proofs are asked of the tests' own DNS server on loopback, with Google
sign-in configured, on both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.conftest import Server, make_backend, running_server
from tests.domains.dns_server import DnsServer
from tests.oidc_signin.conftest import op  # noqa: F401  (the loopback OpenID Provider fixture)

GOOGLE_CLIENT_ID = "test-client.apps.googleusercontent.com"


@pytest.fixture(scope="session")
def dns_server() -> Iterator[DnsServer]:
    with DnsServer() as server:
        yield server


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
async def site(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    dns_server: DnsServer,
) -> AsyncIterator[Server]:
    env = {
        "PROPYLON_DNS_NAMESERVERS": dns_server.address,
        "PROPYLON_DNS_TIMEOUT_SECONDS": "2",
        # the tests run the re-check themselves (admin.domains.recheck_due)
        "PROPYLON_DOMAIN_RECHECK_SECONDS": "0",
        "PROPYLON_GOOGLE_CLIENT_ID": GOOGLE_CLIENT_ID,
        "PROPYLON_BRAND_NAME": "Acme Cloud",
        "PROPYLON_BRAND_HOME_URL": "https://cloud.example.com/",
    }
    backend = make_backend(request.param, tmp_path_factory.mktemp(f"domains-{request.param}"), env)
    async with running_server(backend) as server:
        yield server
