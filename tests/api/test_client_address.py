"""Which address per-address rate limits see: X-Forwarded-For only through trusted proxies."""

from __future__ import annotations

from typing import Any

from propylon.api.client_address import client_address, client_key, limit_unit
from propylon.settings import Settings, parse_networks


def scope(peer: str, xff: str | None = None) -> dict[str, Any]:
    headers = [(b"x-forwarded-for", xff.encode())] if xff is not None else []
    return {"type": "http", "client": (peer, 5555), "headers": headers}


def test_without_trusted_proxies_the_peer_is_the_client_whatever_it_forwards() -> None:
    assert client_address(scope("203.0.113.9", "198.51.100.1"), ()) == "203.0.113.9"


def test_an_untrusted_peer_cannot_claim_another_address() -> None:
    trusted = parse_networks("10.0.0.0/8")
    assert client_address(scope("203.0.113.9", "198.51.100.1"), trusted) == "203.0.113.9"


def test_a_trusted_proxy_names_the_client() -> None:
    trusted = parse_networks("10.0.0.0/8")
    assert client_address(scope("10.1.2.3", "198.51.100.1"), trusted) == "198.51.100.1"


def test_a_spoofed_leftmost_entry_is_ignored_behind_one_proxy() -> None:
    trusted = parse_networks("10.0.0.1")
    # the client sent "X-Forwarded-For: 1.1.1.1"; the proxy appended the real client
    got = client_address(scope("10.0.0.1", "1.1.1.1, 198.51.100.7"), trusted)
    assert got == "198.51.100.7"


def test_a_chain_of_trusted_proxies_is_walked_from_the_right() -> None:
    trusted = parse_networks("10.0.0.0/8, 192.0.2.1")
    got = client_address(scope("10.0.0.1", "198.51.100.7, 192.0.2.1"), trusted)
    assert got == "198.51.100.7"


def test_garbage_in_the_header_stops_at_the_last_good_hop() -> None:
    trusted = parse_networks("10.0.0.1")
    assert client_address(scope("10.0.0.1", "not-an-ip"), trusted) == "10.0.0.1"


def test_limits_count_an_ipv6_client_by_its_network_and_a_mapped_address_as_ipv4() -> None:
    assert limit_unit("2001:db8:1:2:aaaa::1", 64) == "2001:db8:1:2::/64"
    assert limit_unit("2001:db8:1:2:bbbb::9", 64) == "2001:db8:1:2::/64"
    assert limit_unit("::ffff:198.51.100.7", 64) == "198.51.100.7"
    assert limit_unit("198.51.100.7", 64) == "198.51.100.7"


def test_the_limit_key_follows_trusted_proxies_and_the_configured_prefix() -> None:
    settings = Settings(trusted_proxies="10.0.0.1", client_ipv6_prefix=48)
    key = client_key(scope("10.0.0.1", "2001:db8:1:2::5"), settings)
    assert key == "2001:db8:1::/48"
