"""A server whose DNS proofs are asked of the tests' own DNS server on loopback (the
portal's "check now"), on both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.conftest import Server, make_backend, running_server
from tests.domains.dns_server import DnsServer


@pytest.fixture(scope="session")
def portal_dns() -> Iterator[DnsServer]:
    with DnsServer() as server:
        yield server


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
async def site(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    portal_dns: DnsServer,
) -> AsyncIterator[Server]:
    env = {
        "PROPYLON_DNS_NAMESERVERS": portal_dns.address,
        "PROPYLON_DNS_TIMEOUT_SECONDS": "2",
        "PROPYLON_DOMAIN_RECHECK_SECONDS": "0",
        "PROPYLON_BRAND_NAME": "Acme Cloud",
    }
    backend = make_backend(request.param, tmp_path_factory.mktemp(f"portal-{request.param}"), env)
    async with running_server(backend) as server:
        yield server
