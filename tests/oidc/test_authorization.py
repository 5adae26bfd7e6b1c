"""The authorization request (Core §3.1.2.1) and RFC 9207's ``iss`` check."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from propylon.oidc.authorization import authorization_url, check_iss_parameter
from propylon.oidc.errors import OidcError
from propylon.oidc.metadata import ProviderMetadata

META = ProviderMetadata(
    issuer="https://idp.example",
    authorization_endpoint="https://idp.example/authorize?tenant=acme&scope=bad",
    token_endpoint="https://idp.example/token",
    jwks_uri="https://idp.example/jwks",
)


def test_the_url_carries_every_parameter_of_the_code_flow() -> None:
    url = authorization_url(
        META,
        client_id="c 1",
        redirect_uri="https://sp.example/oidc/x/callback",
        scopes=["email", "openid", "profile", "email"],
        state="st",
        nonce="no",
        code_challenge="ch",
        prompt="login",
        login_hint="ada@acme.example",
        max_age=0,
    )
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "idp.example", "/authorize")
    assert parse_qs(parts.query) == {
        "tenant": ["acme"],
        "response_type": ["code"],
        "client_id": ["c 1"],
        "redirect_uri": ["https://sp.example/oidc/x/callback"],
        "scope": ["openid email profile"],
        "state": ["st"],
        "nonce": ["no"],
        "code_challenge": ["ch"],
        "code_challenge_method": ["S256"],
        "prompt": ["login"],
        "login_hint": ["ada@acme.example"],
        "max_age": ["0"],
    }


def test_optional_parameters_are_left_out_and_openid_is_always_asked() -> None:
    url = authorization_url(
        META,
        client_id="c",
        redirect_uri="https://sp/cb",
        scopes=[],
        state="s",
        nonce="n",
        code_challenge="x",
    )
    query = parse_qs(urlsplit(url).query)
    assert query["scope"] == ["openid"]
    assert not {"prompt", "login_hint", "max_age"} & set(query)


def test_iss_is_optional_for_a_provider_that_does_not_announce_it() -> None:
    check_iss_parameter(META, None)
    check_iss_parameter(META, "https://idp.example")


@pytest.mark.parametrize("announced", [False, True])
def test_another_issuer_in_the_response_is_a_mix_up(announced: bool) -> None:
    meta = ProviderMetadata(
        **{**META.__dict__, "authorization_response_iss_parameter_supported": announced}
    )
    for other in ("https://evil.example", "https://idp.example/", ""):
        with pytest.raises(OidcError) as caught:
            check_iss_parameter(meta, other)
        assert caught.value.reason == "issuer_mismatch"


def test_a_provider_that_announces_iss_must_send_it() -> None:
    meta = ProviderMetadata(
        **{**META.__dict__, "authorization_response_iss_parameter_supported": True}
    )
    with pytest.raises(OidcError) as caught:
        check_iss_parameter(meta, None)
    assert (caught.value.reason, caught.value.stage) == ("iss_missing", "authorization_response")
    check_iss_parameter(meta, "https://idp.example")
