"""Fetching a metadata URL (``tenants/metadata_fetch.py``): no request forgery into the
network by default, bounded redirects and body, and a refusal is a clear 4xx-class error."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from propylon.errors import InvalidInput
from propylon.tenants import metadata_fetch
from propylon.tenants.metadata_fetch import fetch_metadata


class Host:
    """A loopback HTTP server: ``/md`` serves ``body``, ``/hop/N`` redirects N more times,
    ``/inside`` redirects to a private address."""

    def __init__(self) -> None:
        self.body = b"<md/>"
        self.host_headers: list[str] = []
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host.host_headers.append(self.headers.get("Host", ""))
                if self.path == "/inside":
                    self.send_response(302)
                    self.send_header("Location", "http://10.0.0.1/md")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path.startswith("/hop/"):
                    left = int(self.path.rsplit("/", 1)[1])
                    self.send_response(302)
                    self.send_header("Location", f"/hop/{left - 1}" if left else "/md")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(host.body)))
                self.end_headers()
                self.wfile.write(host.body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


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
