"""Fetching a metadata URL (``tenants/metadata_fetch.py``) goes through the outbound guard
(``tests/outbound`` pins the guard itself): no request forgery into the network by default,
and a refusal is a clear 4xx-class error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from propylon.errors import InvalidInput
from propylon.outbound import OutboundPolicy
from propylon.tenants.metadata_fetch import fetch_metadata
from tests.loopback_http import LoopbackHttp

INSIDE = OutboundPolicy(allow_private=True, timeout_seconds=5)


@pytest.fixture
def host() -> Iterator[LoopbackHttp]:
    h = LoopbackHttp(lambda path: (200, {}, b"<md/>") if path == "/md" else (404, {}, b""))
    yield h
    h.close()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/md",
        "http://localhost:{port}/md",
        "http://169.254.169.254/latest/meta-data/",  # a cloud metadata service
        "https://10.0.0.1/md",
    ],
)
async def test_inside_addresses_are_refused_by_default(host: LoopbackHttp, url: str) -> None:
    with pytest.raises(InvalidInput, match="not a public address"):
        await fetch_metadata(url.format(port=host.port), OutboundPolicy())
    assert host.host_headers == []  # refused before any connection


async def test_metadata_is_read_through_the_guard_when_inside_hosts_are_allowed(
    host: LoopbackHttp,
) -> None:
    assert await fetch_metadata(f"http://localhost:{host.port}/md", INSIDE) == b"<md/>"
    assert host.host_headers == [f"localhost:{host.port}"]


async def test_an_answer_other_than_200_is_refused(host: LoopbackHttp) -> None:
    with pytest.raises(InvalidInput, match="answered 404"):
        await fetch_metadata(f"{host.origin}/elsewhere", INSIDE)


async def test_the_bound_on_the_body_is_the_policy_s(host: LoopbackHttp) -> None:
    with pytest.raises(InvalidInput, match="too large"):
        await fetch_metadata(f"{host.origin}/md", OutboundPolicy(allow_private=True, max_bytes=4))


@pytest.mark.parametrize("url", ["ftp://idp.example/md", "file:///etc/passwd", "http://", "x"])
async def test_only_http_urls(url: str) -> None:
    with pytest.raises(InvalidInput):
        await fetch_metadata(url, INSIDE)
