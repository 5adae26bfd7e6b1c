"""Discovery and JWK Sets (``oidc/discovery.py``, ``metadata.py``, ``jwks.py``) against a
provider on loopback, through the real outbound guard."""

from __future__ import annotations

from collections.abc import Awaitable

import pytest
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey

from propylon.oidc.discovery import ProviderCache, fetch_provider_metadata
from propylon.oidc.errors import OidcError
from propylon.oidc.jwks import parse_jwks, select_key
from propylon.oidc.metadata import discovery_url
from propylon.outbound import GuardedFetcher, OutboundPolicy
from propylon.settings import Settings
from tests.oidc.idp import INSIDE, Clock, Idp


async def _refused(reason: str, call: Awaitable[object]) -> OidcError:
    with pytest.raises(OidcError) as caught:
        await call
    assert caught.value.reason == reason, caught.value
    return caught.value


async def test_metadata_is_read_once_and_kept_for_its_lifetime(idp: Idp, clock: Clock) -> None:
    cache = idp.cache(clock, metadata_ttl_seconds=3600)
    meta = await cache.metadata(idp.issuer)
    assert (meta.issuer, meta.token_endpoint) == (idp.issuer, f"{idp.issuer}/token")
    assert meta.token_endpoint_auth_methods_supported == ("client_secret_basic",)
    clock.advance(3599)
    assert await cache.metadata(idp.issuer) is meta
    assert idp.hits("/.well-known/openid-configuration") == 1
    clock.advance(1)
    await cache.metadata(idp.issuer)
    assert idp.hits("/.well-known/openid-configuration") == 2


async def test_the_document_must_name_exactly_the_issuer(idp: Idp, clock: Clock) -> None:
    idp.extra_metadata["issuer"] = idp.issuer + "/"
    error = await _refused("issuer_mismatch", idp.cache(clock).metadata(idp.issuer))
    assert error.stage == "discovery"
    assert error.details == {"expected": idp.issuer, "found": idp.issuer + "/"}


def test_the_well_known_path_follows_a_path_issuer_without_its_slash() -> None:
    assert discovery_url("https://idp.example/t/1/") == (
        "https://idp.example/t/1/.well-known/openid-configuration"
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("token_endpoint", None),
        ("jwks_uri", "/relative"),
        ("authorization_endpoint", "javascript:alert(1)"),
        ("userinfo_endpoint", 7),
        ("id_token_signing_alg_values_supported", "RS256"),
        ("authorization_response_iss_parameter_supported", "yes"),
    ],
)
async def test_a_malformed_document_is_refused(
    idp: Idp, clock: Clock, field: str, value: object
) -> None:
    idp.extra_metadata[field] = value
    await _refused("metadata_invalid", idp.cache(clock).metadata(idp.issuer))


async def test_endpoints_must_be_https_unless_plain_http_is_allowed(idp: Idp, clock: Clock) -> None:
    strict = ProviderCache(INSIDE, clock, require_https=True)
    error = await _refused("metadata_invalid", strict.metadata(idp.issuer))
    assert "https" in error.detail


async def test_discovery_goes_through_the_guard(idp: Idp, clock: Clock) -> None:
    public_only = ProviderCache(GuardedFetcher(OutboundPolicy()), clock)
    error = await _refused("discovery_failed", public_only.metadata(idp.issuer))
    assert error.details["cause"] == "private_address"
    assert idp.server.requests == []


async def test_a_provider_that_answers_an_error_is_a_failed_discovery(clock: Clock) -> None:
    missing = Idp()
    try:
        await _refused("discovery_failed", missing.cache(clock).metadata(missing.issuer + "/x"))
    finally:
        missing.close()


async def test_a_failed_discovery_is_not_repeated_at_once(idp: Idp, clock: Clock) -> None:
    cache = idp.cache(clock, jwks_refetch_min_interval_seconds=60)
    idp.failing.add("/.well-known/openid-configuration")
    for _ in range(3):
        error = await _refused("discovery_failed", cache.metadata(idp.issuer))
        assert error.details == {"status": 503}
    assert idp.hits("/.well-known/openid-configuration") == 1
    idp.failing.clear()
    clock.advance(60)
    assert (await cache.metadata(idp.issuer)).issuer == idp.issuer
    assert idp.hits("/.well-known/openid-configuration") == 2


async def test_a_failed_jwks_read_is_not_repeated_at_once(idp: Idp, clock: Clock) -> None:
    cache = idp.cache(clock, metadata_ttl_seconds=600, jwks_refetch_min_interval_seconds=60)
    idp.failing.add("/jwks")
    for _ in range(3):
        await _refused("jwks_failed", cache.key(idp.issuer, "rsa-1", "RS256"))
    assert idp.hits("/jwks") == 1
    idp.failing.clear()
    clock.advance(60)
    assert await cache.key(idp.issuer, "rsa-1", "RS256") is not None
    # past its lifetime the set is read again; when that fails, the set read before serves
    # and the next attempt waits for the interval
    clock.advance(600)
    idp.failing |= {"/.well-known/openid-configuration", "/jwks"}
    for _ in range(2):
        assert await cache.key(idp.issuer, "rsa-1", "RS256") is not None  # both read before
    assert (idp.hits("/jwks"), idp.hits("/.well-known/openid-configuration")) == (3, 2)
    clock.advance(60)
    assert await cache.key(idp.issuer, "rsa-1", "RS256") is not None
    assert (idp.hits("/jwks"), idp.hits("/.well-known/openid-configuration")) == (4, 3)
    clock.advance(60)
    idp.failing.clear()
    del idp.keys["rsa-1"]
    assert await cache.key(idp.issuer, "rsa-1", "RS256") is None  # read again: key gone
    assert idp.hits("/jwks") == 5


async def test_an_issuer_is_checked_without_the_cache(idp: Idp) -> None:
    meta = await fetch_provider_metadata(OutboundPolicy(allow_private=True), idp.issuer)
    assert meta.jwks_uri == f"{idp.issuer}/jwks"
    strict = OutboundPolicy(allow_private=True, allow_http=False)
    await _refused("discovery_failed", fetch_provider_metadata(strict, idp.issuer))
    idp.extra_metadata["issuer"] = "https://other.example"
    await _refused("issuer_mismatch", fetch_provider_metadata(OutboundPolicy(True), idp.issuer))


async def test_metadata_read_before_serves_while_the_provider_fails(idp: Idp, clock: Clock) -> None:
    cache = idp.cache(clock, metadata_ttl_seconds=100, jwks_refetch_min_interval_seconds=60)
    meta = await cache.metadata(idp.issuer)
    idp.failing.add("/.well-known/openid-configuration")
    clock.advance(100)
    assert await cache.metadata(idp.issuer) is meta
    assert await cache.metadata(idp.issuer) is meta
    assert idp.hits("/.well-known/openid-configuration") == 2
    idp.failing.clear()
    clock.advance(60)
    assert await cache.metadata(idp.issuer) is not meta
    assert idp.hits("/.well-known/openid-configuration") == 3


async def test_a_known_kid_is_served_from_the_cached_jwks(idp: Idp, clock: Clock) -> None:
    cache = idp.cache(clock)
    key = await cache.key(idp.issuer, "rsa-1", "RS256")
    assert isinstance(key, RSAKey) and not key.is_private
    assert key.as_dict()["n"] == idp.keys["rsa-1"].as_dict()["n"]
    assert await cache.key(idp.issuer, "rsa-1", "PS256") is not None
    assert idp.hits("/jwks") == 1


async def test_an_unknown_kid_refetches_once_then_is_refused(idp: Idp, clock: Clock) -> None:
    cache = idp.cache(clock, jwks_refetch_min_interval_seconds=60)
    await cache.key(idp.issuer, "rsa-1", "RS256")
    clock.advance(61)
    assert await cache.key(idp.issuer, "made-up-1", "RS256") is None
    assert idp.hits("/jwks") == 2
    clock.advance(30)
    assert await cache.key(idp.issuer, "made-up-2", "RS256") is None
    assert idp.hits("/jwks") == 2  # within the interval: no request
    clock.advance(31)
    assert await cache.key(idp.issuer, "made-up-3", "RS256") is None
    assert idp.hits("/jwks") == 3


async def test_a_rotated_key_is_found_without_any_action(idp: Idp, clock: Clock) -> None:
    cache = idp.cache(clock)
    await cache.key(idp.issuer, "rsa-1", "RS256")
    clock.advance(120)
    idp.keys["ec-2"] = ECKey.generate_key("P-256")
    assert isinstance(await cache.key(idp.issuer, "ec-2", "ES256"), ECKey)
    assert idp.hits("/jwks") == 2


async def test_the_first_read_counts_against_the_refetch_interval(idp: Idp, clock: Clock) -> None:
    cache = idp.cache(clock)
    assert await cache.key(idp.issuer, "made-up", "RS256") is None
    assert idp.hits("/jwks") == 1


async def test_the_jwks_is_read_again_after_its_lifetime(idp: Idp, clock: Clock) -> None:
    cache = idp.cache(clock, metadata_ttl_seconds=100)
    await cache.key(idp.issuer, "rsa-1", "RS256")
    del idp.keys["rsa-1"]
    idp.keys["rsa-2"] = RSAKey.generate_key(2048)
    clock.advance(100)
    assert await cache.key(idp.issuer, "rsa-1", "RS256") is None  # a removed key ends
    assert idp.hits("/jwks") == 2


def _member(key: RSAKey | ECKey | OKPKey, **extra: object) -> dict[str, object]:
    return {**key.as_dict(private=False), **extra}


@pytest.mark.filterwarnings("ignore:Key size should be")
def test_only_public_signature_keys_that_fit_the_algorithm_are_used() -> None:
    rsa, ec, ed = RSAKey.generate_key(2048), ECKey.generate_key("P-256"), OKPKey.generate_key()
    weak = RSAKey.generate_key(1024)
    entries = parse_jwks(
        {
            "keys": [
                {**OctKey.generate_key(256).as_dict(), "kid": "hmac"},
                _member(weak, kid="weak"),
                _member(rsa, kid="enc", use="enc"),
                _member(rsa, kid="wrap", key_ops=["wrapKey"]),
                {**rsa.as_dict(private=True), "kid": "rsa"},  # private members are dropped
                _member(ec, kid="ec"),
                _member(ed, kid="ed", alg="EdDSA"),
                {"kty": "RSA", "kid": "broken", "n": 5},
                "not a member",
            ]
        }
    )
    assert [e.kid for e in entries] == ["rsa", "ec", "ed"]
    assert not any(e.key.is_private for e in entries)
    assert select_key(entries, "rsa", "RS256") is not None
    assert select_key(entries, "rsa", "ES256") is None  # type mismatch
    assert select_key(entries, "ec", "ES384") is None  # curve mismatch
    assert select_key(entries, "ec", "ES256") is not None
    assert select_key(entries, "ed", "EdDSA") is not None
    assert select_key(entries, "hmac", "HS256") is None
    assert select_key(entries, None, "ES256") is not None  # one EC key: no kid needed
    with pytest.raises(ValueError):
        parse_jwks({"keys": "no"})


def test_a_jws_without_kid_is_ambiguous_among_several_keys() -> None:
    a, b = RSAKey.generate_key(2048), RSAKey.generate_key(2048)
    entries = parse_jwks({"keys": [_member(a, kid="a"), _member(b, kid="b")]})
    assert select_key(entries, None, "RS256") is None
    assert select_key(entries, "b", "RS256") is not None


def test_the_cache_limits_come_from_the_settings(clock: Clock) -> None:
    settings = Settings(oidc_metadata_cache_seconds=10, oidc_jwks_refetch_min_interval_seconds=5)
    cache = ProviderCache.from_settings(INSIDE, clock, settings)
    assert (cache._ttl, cache._refetch_interval, cache._require_https) == (10, 5, True)
