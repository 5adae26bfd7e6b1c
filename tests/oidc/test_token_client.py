"""The code exchange (``oidc/token_client.py``): each client authentication method as the
provider receives it, and every answer that is not a token response refused."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs, unquote_plus

import pytest
from joserfc import jws
from joserfc.jwk import ECKey, RSAKey

from propylon.oidc.errors import OidcError
from propylon.oidc.token_client import ClientAuth, basic_authorization, exchange_code
from tests.oidc.idp import INSIDE, START, Clock, Idp

GOOD = {"id_token": "a.b.c", "access_token": "at", "token_type": "Bearer", "expires_in": 300}


async def _exchange(idp: Idp, clock: Clock, auth: ClientAuth) -> Any:
    meta = await idp.cache(clock).metadata(idp.issuer)
    return await exchange_code(
        meta,
        auth,
        code="the-code",
        redirect_uri="https://sp/cb",
        code_verifier="v" * 43,
        fetch=INSIDE,
        now=START,
    )


def _sent(idp: Idp) -> tuple[dict[str, str], dict[str, list[str]]]:
    [request] = [r for r in idp.server.requests if r.path == "/token"]
    assert request.method == "POST"
    return request.headers, parse_qs(request.body.decode())


async def test_client_secret_basic_form_encodes_id_and_secret(idp: Idp, clock: Clock) -> None:
    idp.token_answer = (200, GOOD)
    auth = ClientAuth("client_secret_basic", "id:with space", "sécret+/:")
    tokens = await _exchange(idp, clock, auth)
    assert (tokens.id_token, tokens.access_token, tokens.expires_in) == ("a.b.c", "at", 300)
    headers, form = _sent(idp)
    scheme, _, encoded = headers["authorization"].partition(" ")
    user, _, password = base64.b64decode(encoded).decode().partition(":")
    assert scheme == "Basic"
    assert (unquote_plus(user), unquote_plus(password)) == ("id:with space", "sécret+/:")
    assert user == "id%3Awith+space"
    assert form == {
        "grant_type": ["authorization_code"],
        "code": ["the-code"],
        "redirect_uri": ["https://sp/cb"],
        "code_verifier": ["v" * 43],
    }


def test_basic_authorization_is_rfc_6749_s_encoding() -> None:
    assert basic_authorization("a b", "c&d") == "Basic " + base64.b64encode(b"a+b:c%26d").decode()


async def test_client_secret_post_sends_the_secret_in_the_body(idp: Idp, clock: Clock) -> None:
    idp.token_answer = (200, GOOD)
    await _exchange(idp, clock, ClientAuth("client_secret_post", "cid", "s3cret"))
    headers, form = _sent(idp)
    assert "authorization" not in headers
    assert (form["client_id"], form["client_secret"]) == (["cid"], ["s3cret"])


@pytest.mark.parametrize(
    ("key", "alg"), [(RSAKey.generate_key(2048), "RS256"), (ECKey.generate_key("P-256"), "ES256")]
)
async def test_private_key_jwt_signs_a_short_assertion_for_the_token_endpoint(
    idp: Idp, clock: Clock, key: RSAKey | ECKey, alg: str
) -> None:
    idp.token_answer = (200, GOOD)
    pem = key.as_pem(private=True)
    await _exchange(
        idp, clock, ClientAuth("private_key_jwt", "cid", private_key_pem=pem, private_key_id="k1")
    )
    headers, form = _sent(idp)
    assert "authorization" not in headers
    assert form["client_assertion_type"] == [
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    ]
    public = type(key).import_key(key.as_dict(private=False))
    signed = jws.deserialize_compact(form["client_assertion"][0], public, algorithms=[alg])
    assert signed.protected == {"alg": alg, "typ": "JWT", "kid": "k1"}
    claims = json.loads(signed.payload)
    issued = int(START.timestamp())
    assert claims.pop("jti")
    assert claims == {
        "iss": "cid",
        "sub": "cid",
        "aud": f"{idp.issuer}/token",
        "iat": issued,
        "exp": issued + 60,
    }


def test_a_client_key_must_be_a_private_rsa_or_p256_key() -> None:
    from propylon.oidc.token_client import client_assertion

    for pem in (
        ECKey.generate_key("P-384").as_pem(private=True),
        RSAKey.generate_key(2048).as_pem(private=False),
        b"not a key",
    ):
        with pytest.raises(ValueError):
            client_assertion(ClientAuth("private_key_jwt", "c", private_key_pem=pem), "u", START)


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ((400, {"error": "invalid_grant", "error_description": "code used"}), "token_error"),
        ((200, {"error": "invalid_client"}), "token_error"),
        ((500, ["x"]), "token_response_invalid"),
        ((200, {**GOOD, "id_token": None}), "token_response_invalid"),
        ((200, {**GOOD, "access_token": 5}), "token_response_invalid"),
        ((200, {**GOOD, "token_type": "mac"}), "token_response_invalid"),
        ((200, {**GOOD, "expires_in": -1}), "token_response_invalid"),
        ((200, {**GOOD, "scope": ["openid"]}), "token_response_invalid"),
    ],
)
async def test_anything_but_a_token_response_is_refused(
    idp: Idp, clock: Clock, answer: tuple[int, Any], reason: str
) -> None:
    idp.token_answer = answer
    with pytest.raises(OidcError) as caught:
        await _exchange(idp, clock, ClientAuth("client_secret_post", "c", "s"))
    assert (caught.value.reason, caught.value.stage) == (reason, "token")


async def test_the_provider_s_error_code_is_kept(idp: Idp, clock: Clock) -> None:
    idp.token_answer = (400, {"error": "invalid_grant", "error_description": "code used"})
    with pytest.raises(OidcError) as caught:
        await _exchange(idp, clock, ClientAuth("client_secret_post", "c", "s"))
    assert caught.value.details == {"status": 400, "error": "invalid_grant"}
    assert "code used" in caught.value.detail


async def test_a_string_expires_in_is_read_as_a_number(idp: Idp, clock: Clock) -> None:
    idp.token_answer = (200, {**GOOD, "expires_in": "3599", "token_type": "bearer"})
    tokens = await _exchange(idp, clock, ClientAuth("client_secret_post", "c", "s"))
    assert tokens.expires_in == 3599
