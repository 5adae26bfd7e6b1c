"""The outbound guard (``propylon.outbound``): only public addresses over https unless the
policy allows inside hosts, every redirect hop checked again, credentials kept to their
origin, bounded body and time. Every test talks to a real loopback server."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from propylon.outbound import OutboundError, OutboundPolicy, addresses, request
from propylon.runtime import build_runtime
from propylon.settings import Settings
from tests.loopback_http import LoopbackHttp

INSIDE = OutboundPolicy(allow_private=True, timeout_seconds=5)


class Host(LoopbackHttp):
    """``/doc`` serves ``body``; ``/hop/N`` redirects N more times; ``/inside`` redirects to a
    private address; ``/to/URL`` redirects to URL; ``/slow`` answers after ``release``;
    ``/stream`` sends ``body`` without a length; ``/gzip`` a gzip-encoded body."""

    def __init__(self) -> None:
        self.body = b"{}"
        self.release = threading.Event()
        super().__init__(self._answer)

    def _answer(self, path: str) -> tuple[int, dict[str, str], bytes]:
        if path == "/inside":
            return 302, {"Location": "http://10.0.0.1/doc"}, b""
        if path.startswith("/hop/"):
            left = int(path.rsplit("/", 1)[1])
            return 302, {"Location": f"/hop/{left - 1}" if left else "/doc"}, b""
        if path.startswith("/to/"):
            return 302, {"Location": path.removeprefix("/to/")}, b""
        if path == "/slow":
            self.release.wait(10)
        if path == "/stream":
            return 200, {"Content-Length": ""}, self.body
        if path == "/gzip":
            return 200, {"Content-Encoding": "gzip"}, gzip.compress(self.body)
        if path == "/missing":
            return 404, {"Content-Type": "text/plain"}, b"no"
        return 200, {"Content-Type": "application/json", "X-Two": "a"}, self.body


@pytest.fixture
def host() -> Iterator[Host]:
    h = Host()
    yield h
    h.release.set()
    h.close()


@pytest.fixture
def loopback_is_public(monkeypatch: pytest.MonkeyPatch) -> None:
    """Take the loopback server as a public host, so the rules for public hosts apply to it."""
    monkeypatch.setattr(addresses, "is_public", lambda address: str(address) == "127.0.0.1")


async def _refused(reason: str, policy: OutboundPolicy, method: str, url: str) -> OutboundError:
    with pytest.raises(OutboundError) as caught:
        await request(policy, method, url)
    assert caught.value.reason == reason, caught.value.detail
    return caught.value


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/doc",
        "http://localhost:{port}/doc",
        "http://[::1]:{port}/doc",
        "http://169.254.169.254/latest/meta-data/",  # a cloud metadata service
        "https://10.0.0.1/doc",
        "https://192.168.1.1/doc",
        "https://100.64.0.1/doc",  # shared address space (RFC 6598)
        "http://[::ffff:127.0.0.1]:{port}/doc",
        "https://[fd00::1]/doc",
        "https://0.0.0.0/doc",
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_inside_addresses_are_refused_without_the_flag(
    host: Host, url: str, method: str
) -> None:
    error = await _refused("private_address", OutboundPolicy(), method, url.format(port=host.port))
    assert "not a public address" in error.detail
    assert host.requests == []  # refused before any connection


async def test_inside_addresses_are_reached_with_the_flag(host: Host) -> None:
    response = await request(INSIDE, "GET", f"{host.origin}/doc", headers={"Accept": "x/y"})
    assert (response.status, response.body, response.url) == (200, b"{}", f"{host.origin}/doc")
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-two"] == "a"
    assert host.requests[0].headers["accept"] == "x/y"


async def test_any_status_is_an_answer(host: Host) -> None:
    response = await request(INSIDE, "GET", f"{host.origin}/missing")
    assert (response.status, response.body) == (404, b"no")


async def test_a_redirect_into_the_network_is_refused_at_that_hop(
    host: Host, loopback_is_public: None
) -> None:
    policy = OutboundPolicy(allow_http=True, timeout_seconds=5)
    error = await _refused("private_address", policy, "GET", f"{host.origin}/inside")
    assert "(10.0.0.1)" in error.detail
    assert [r.path for r in host.requests] == ["/inside"]


async def test_plain_http_is_refused_unless_allowed(host: Host, loopback_is_public: None) -> None:
    await _refused("scheme_not_allowed", OutboundPolicy(), "GET", f"{host.origin}/doc")
    await _refused(
        "scheme_not_allowed",
        OutboundPolicy(allow_private=True, allow_http=False),
        "GET",
        f"{host.origin}/doc",
    )
    assert host.requests == []
    assert (
        await request(OutboundPolicy(allow_http=True), "GET", f"{host.origin}/doc")
    ).status == 200


async def test_each_hop_names_the_host_not_its_address(host: Host) -> None:
    response = await request(INSIDE, "GET", f"http://localhost:{host.port}/hop/1")
    assert response.body == b"{}"
    assert response.url == f"http://localhost:{host.port}/doc"
    assert host.host_headers == [f"localhost:{host.port}"] * 3


async def test_redirects_are_bounded(host: Host) -> None:
    policy = OutboundPolicy(allow_private=True, max_redirects=2)
    assert (await request(policy, "GET", f"{host.origin}/hop/1")).status == 200
    await _refused("too_many_redirects", policy, "GET", f"{host.origin}/hop/2")
    assert len(host.requests) == 3 + 3


async def test_a_post_is_form_encoded_and_its_redirect_not_followed(host: Host) -> None:
    response = await request(
        INSIDE, "POST", f"{host.origin}/to/{host.origin}/doc", form={"a": "1 2", "b": "&="}
    )
    assert response.status == 302
    assert response.headers["location"] == f"{host.origin}/doc"
    [sent] = host.requests
    assert sent.method == "POST"
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    assert sent.body == b"a=1+2&b=%26%3D"


async def test_credentials_do_not_follow_a_redirect_to_another_origin(host: Host) -> None:
    auth = {"Authorization": "Bearer secret", "Cookie": "c=1"}
    same = f"{host.origin}/to/{host.origin}/doc"
    other = f"{host.origin}/to/http://localhost:{host.port}/doc"
    await request(INSIDE, "GET", same, headers=auth)
    await request(INSIDE, "GET", other, headers=auth)
    seen = [(r.headers.get("authorization"), r.headers.get("cookie")) for r in host.requests]
    assert seen == [("Bearer secret", "c=1")] * 3 + [(None, None)]


@pytest.mark.parametrize("path", ["/doc", "/stream"])
async def test_the_body_is_bounded_while_read(host: Host, path: str) -> None:
    host.body = b"x" * 1000
    assert (await request(OutboundPolicy(True, max_bytes=1000), "GET", host.origin + path)).body
    error = await _refused(
        "too_large", OutboundPolicy(True, max_bytes=999), "GET", host.origin + path
    )
    assert "too large" in error.detail


async def test_an_encoding_that_was_not_asked_for_is_refused(host: Host) -> None:
    await _refused("transport", INSIDE, "GET", f"{host.origin}/gzip")
    assert host.requests[0].headers["accept-encoding"] == "identity"


async def test_the_whole_request_is_bounded_in_time(host: Host) -> None:
    started = time.monotonic()
    await _refused(
        "timeout", OutboundPolicy(True, timeout_seconds=0.3), "GET", f"{host.origin}/slow"
    )
    assert time.monotonic() - started < 2


async def test_a_host_that_does_not_listen_is_unreachable(host: Host) -> None:
    port = host.port
    host.close()
    await _refused("unreachable", INSIDE, "GET", f"http://127.0.0.1:{port}/doc")


@pytest.mark.parametrize(
    "url", ["ftp://idp.example/x", "file:///etc/passwd", "http://", "x", "https://u:p@idp.example/"]
)
async def test_only_http_urls_without_credentials(url: str) -> None:
    await _refused("invalid_url", INSIDE, "GET", url)


async def test_the_policy_comes_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROPYLON_OUTBOUND_TIMEOUT_SECONDS", "3.5")
    monkeypatch.setenv("PROPYLON_OUTBOUND_MAX_BYTES", "1024")
    assert OutboundPolicy.from_settings(Settings()) == OutboundPolicy(False, 3.5, 1024, 3)
    monkeypatch.setenv("PROPYLON_OUTBOUND_ALLOW_PRIVATE_HOSTS", "true")
    assert OutboundPolicy.from_settings(Settings()).allow_private is True


def test_the_setting_is_also_taken_by_its_field_name() -> None:
    """As ``tests/conftest.py`` builds settings from the server's environment."""
    assert Settings(outbound_allow_private_hosts="true").outbound_allow_private_hosts is True


async def test_the_runtime_holds_the_policy_from_the_settings(tmp_path: Path) -> None:
    rt = build_runtime(
        Settings(data_dir=tmp_path, outbound_allow_private_hosts=True, outbound_max_bytes=99)
    )
    try:
        assert rt.outbound == OutboundPolicy(True, 10.0, 99, 3)
    finally:
        await rt.close()


def test_the_older_setting_name_is_an_alias(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROPYLON_OUTBOUND_ALLOW_PRIVATE_HOSTS", raising=False)
    assert Settings().outbound_allow_private_hosts is False
    monkeypatch.setenv("PROPYLON_SAML_METADATA_ALLOW_PRIVATE_HOSTS", "true")
    assert Settings().outbound_allow_private_hosts is True


async def test_plain_http_to_a_public_address_is_refused_even_with_inside_hosts_allowed() -> None:
    """What the settings give (``allow_private`` only): plain http reaches inside hosts, never
    a public address, checked by the guard itself at each request, not only when an issuer
    or metadata URL is configured."""
    policy = OutboundPolicy(allow_private=True, timeout_seconds=5)
    error = await _refused("scheme_not_allowed", policy, "GET", "http://8.8.8.8/doc")
    assert "loopback or private" in error.detail
