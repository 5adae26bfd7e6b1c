"""A server per backend whose delivery worker retries fast (the schedule is settings), an
API client, and loopback receivers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import Server, make_backend, running_server

FAST = {
    "PROPYLON_DELIVERY_POLL_SECONDS": "0.05",
    "PROPYLON_DELIVERY_RETRY_BASE_SECONDS": "0.05",
    "PROPYLON_DELIVERY_RETRY_MAX_INTERVAL_SECONDS": "0.2",
    "PROPYLON_DELIVERY_RETRY_FOR_SECONDS": "2",
    "PROPYLON_DELIVERY_LEASE_SECONDS": "1",
    "PROPYLON_FEED_POLL_SECONDS": "0.05",
}

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def user_body(name: str) -> dict[str, Any]:
    return {
        "schemas": [USER],
        "userName": name,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"value": name, "type": "work", "primary": True}],
        "active": True,
    }


@dataclass
class Hooks:
    server: Server
    api: httpx.AsyncClient


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
async def hooks(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Hooks]:
    backend = make_backend(request.param, tmp_path_factory.mktemp(request.param), FAST)
    async with running_server(backend) as server, server.api() as api:
        yield Hooks(server, api)
