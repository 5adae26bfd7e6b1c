"""Fetching a metadata URL (``tenants/metadata_fetch.py``): no request forgery into the
network by default, bounded redirects and body, and a refusal is a clear 4xx-class error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from propylon.errors import InvalidInput
from propylon.tenants import metadata_fetch
from propylon.tenants.metadata_fetch import fetch_metadata
from tests.loopback_http import LoopbackHttp


class Host(LoopbackHttp):
    """``/md`` serves ``body``, ``/hop/N`` redirects N more times, ``/inside`` redirects to a
    private address."""

    def __init__(self) -> None:
        self.body = b"<md/>"
        super().__init__(self._answer)

    def _answer(self, path: str) -> tuple[int, dict[str, str], bytes]:
        if path == "/inside":
            return 302, {"Location": "http://10.0.0.1/md"}, b""
        if path.startswith("/hop/"):
            left = int(path.rsplit("/", 1)[1])
            return 302, {"Location": f"/hop/{left - 1}" if left else "/md"}, b""
        return 200, {}, self.body


@pytest.fixture
def host() -> Iterator[Host]:
    h = Host()
    yield h
    h.close()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/md",
        "http://localhost:{port}/md",
        "http://[::1]:{port}/md",
        "http://169.254.169.254/latest/meta-data/",  # a cloud metadata service
        "http://10.0.0.1/md",
        "http://[::ffff:127.0.0.1]:{port}/md",
        "https://0.0.0.0/md",
    ],
)
async def test_inside_addresses_are_refused_by_default(host: Host, url: str) -> None:
    with pytest.raises(InvalidInput, match="not a public address"):
        await fetch_metadata(url.format(port=host.port))
    assert host.host_headers == []  # refused before any connection


async def test_a_redirect_into_the_network_is_refused(
    host: Host, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each hop is checked again: a host taken as public (here the loopback server, by
    patching the check) that redirects to a private address is refused at that hop."""
    monkeypatch.setattr(metadata_fetch, "_public", lambda address: str(address) == "127.0.0.1")
    with pytest.raises(InvalidInput, match=r"not a public address \(10\.0\.0\.1\)"):
        await fetch_metadata(f"http://127.0.0.1:{host.port}/inside")
    assert host.host_headers == [f"127.0.0.1:{host.port}"]


async def test_the_request_names_the_host_not_its_address(host: Host) -> None:
    """The connection goes to the checked address; ``Host`` (and for https, SNI and the
    certificate check) keep the name, on every hop."""
    url = f"http://localhost:{host.port}/hop/1"
    assert await fetch_metadata(url, allow_private=True) == b"<md/>"
    assert host.host_headers == [f"localhost:{host.port}"] * 3


async def test_redirects_and_body_are_bounded(host: Host) -> None:
    url = f"http://127.0.0.1:{host.port}/hop/{metadata_fetch.MAX_REDIRECTS}"
    with pytest.raises(InvalidInput, match="redirected more than"):
        await fetch_metadata(url, allow_private=True)
    host.body = b"x" * (metadata_fetch.MAX_BYTES + 1)
    with pytest.raises(InvalidInput, match="too large"):
        await fetch_metadata(f"http://127.0.0.1:{host.port}/md", allow_private=True)


@pytest.mark.parametrize("url", ["ftp://idp.example/md", "file:///etc/passwd", "http://", "x"])
async def test_only_http_urls(url: str) -> None:
    with pytest.raises(InvalidInput):
        await fetch_metadata(url, allow_private=True)
