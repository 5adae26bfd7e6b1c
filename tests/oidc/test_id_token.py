"""ID token validation (Core §3.1.3.7) against the OpenID RP certification themes, with
tokens crafted here and keys served by a loopback provider through the outbound guard."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from joserfc.jwk import ECKey, OKPKey, RSAKey

from propylon.oidc.errors import OidcError
from propylon.oidc.id_token import IdTokenClaims
from tests.oidc.idp import PROVIDER_KEY, Clock, Idp, b64url, sign, sign_bytes, unsigned
from tests.oidc.tokens import NONCE, check_id_token, id_claims

RSA = {"alg": "RS256", "kid": "rsa-1"}


async def _refused(reason: str, idp: Idp, clock: Clock, token: str, **options: Any) -> OidcError:
    with pytest.raises(OidcError) as caught:
        await check_id_token(idp, clock, token, **options)
    assert caught.value.reason == reason, caught.value
    assert caught.value.stage == "id_token"
    return caught.value


@pytest.mark.filterwarnings("ignore:EdDSA is deprecated")
@pytest.mark.parametrize(
    ("kid", "key", "alg"),
    [
        ("rsa-1", PROVIDER_KEY, "RS256"),
        ("rsa-1", PROVIDER_KEY, "PS384"),
        ("ec", ECKey.generate_key("P-256"), "ES256"),
        ("ec384", ECKey.generate_key("P-384"), "ES384"),
        ("ed", OKPKey.generate_key("Ed25519"), "EdDSA"),
    ],
)
async def test_a_good_token_gives_its_claims(
    idp: Idp, clock: Clock, kid: str, key: Any, alg: str
) -> None:
    idp.keys[kid] = key
    token = sign(id_claims(idp, clock, email="ada@acme.example"), key, {"alg": alg, "kid": kid})
    got = await check_id_token(idp, clock, token)
    assert isinstance(got, IdTokenClaims)
    assert (got.sub, got.issuer, got.audiences, got.nonce, got.sid) == (
        "user-1",
        idp.issuer,
        ("propylon-client",),
        NONCE,
        "idp-session-1",
    )
    assert got.expires_at.timestamp() == clock().timestamp() + 300
    assert got.claims["email"] == "ada@acme.example"
    assert len(got.replay_key) == 64


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
async def test_alg_none_is_refused(idp: Idp, clock: Clock, alg: str) -> None:
    token = unsigned(id_claims(idp, clock), {"alg": alg, "kid": "rsa-1"})
    await _refused("alg_not_allowed", idp, clock, token)
    await _refused("alg_not_allowed", idp, clock, token, allowed_algs={"none", alg, "RS256"})


@pytest.mark.parametrize(
    "secret",
    [
        PROVIDER_KEY.as_pem(private=False),
        json.dumps(PROVIDER_KEY.as_dict(private=False)).encode(),
        base64.urlsafe_b64decode(PROVIDER_KEY.as_dict()["n"] + "=="),
    ],
    ids=["pem", "jwk", "modulus"],
)
@pytest.mark.parametrize("alg", ["HS256", "HS512"])
async def test_hmac_keyed_with_the_public_key_is_refused(
    idp: Idp, clock: Clock, secret: bytes, alg: str
) -> None:
    """RFC 8725 §2.1: whoever has the public key could make such a token. It is refused
    even when the allow-list names HMAC."""
    token = sign(id_claims(idp, clock), secret, {"alg": alg, "kid": "rsa-1"})
    await _refused("alg_not_allowed", idp, clock, token)
    await _refused("alg_not_allowed", idp, clock, token, allowed_algs={alg, "RS256"})


async def test_an_algorithm_off_the_allow_list_is_refused(idp: Idp, clock: Clock) -> None:
    token = sign(id_claims(idp, clock), PROVIDER_KEY, {"alg": "RS512", "kid": "rsa-1"})
    error = await _refused("alg_not_allowed", idp, clock, token, allowed_algs={"RS256"})
    assert error.details == {"alg": "RS512"}


async def test_a_key_of_another_type_than_the_alg_needs_is_refused(idp: Idp, clock: Clock) -> None:
    ec = ECKey.generate_key("P-256")

    async def wrong_type(kid: str | None, alg: str) -> Any:
        return ec

    token = sign(id_claims(idp, clock), PROVIDER_KEY, RSA)
    await _refused("key_mismatch", idp, clock, token, keys=wrong_type)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"iss": "https://evil.example"}, "issuer_mismatch"),
        ({"iss": "ISSUER"}, "issuer_mismatch"),
        ({"iss": None}, "issuer_mismatch"),
        ({"aud": "another-client"}, "audience_mismatch"),
        ({"aud": ["another-client", "third"], "azp": "another-client"}, "audience_mismatch"),
        ({"aud": ["propylon-client", "evil-api"], "azp": "propylon-client"}, "untrusted_audience"),
        ({"aud": ["propylon-client", "trusted-api"]}, "azp_missing"),
        ({"azp": "another-client"}, "azp_mismatch"),
        ({"aud": 7}, "claim_missing"),
        ({"aud": None}, "claim_missing"),
    ],
)
async def test_issuer_audience_and_azp(
    idp: Idp, clock: Clock, changes: dict[str, Any], reason: str
) -> None:
    token = sign(id_claims(idp, clock, **changes), PROVIDER_KEY, RSA)
    await _refused(reason, idp, clock, token, trusted_audiences={"trusted-api"})


async def test_a_trusted_extra_audience_with_azp_is_accepted(idp: Idp, clock: Clock) -> None:
    claims = id_claims(idp, clock, aud=["propylon-client", "trusted-api"], azp="propylon-client")
    got = await check_id_token(
        idp, clock, sign(claims, PROVIDER_KEY, RSA), trusted_audiences={"trusted-api"}
    )
    assert (got.audiences, got.azp) == (("propylon-client", "trusted-api"), "propylon-client")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"exp": -61}, "expired"),
        ({"exp": -3600}, "expired"),
        ({"iat": 61}, "issued_in_future"),
        ({"iat": 86_400}, "issued_in_future"),
        ({"nbf": 61}, "not_yet_valid"),
        ({"exp": None}, "claim_missing"),
        ({"iat": None}, "claim_missing"),
        ({"exp": "soon"}, "malformed"),
        ({"iat": True}, "malformed"),
    ],
)
async def test_times_outside_the_skew_are_refused(
    idp: Idp, clock: Clock, changes: dict[str, Any], reason: str
) -> None:
    now = int(clock().timestamp())
    shifted = {
        k: now + v if isinstance(v, int) and not isinstance(v, bool) else v
        for k, v in changes.items()
    }
    token = sign(id_claims(idp, clock, **shifted), PROVIDER_KEY, RSA)
    await _refused(reason, idp, clock, token)


async def test_times_within_the_skew_are_accepted(idp: Idp, clock: Clock) -> None:
    now = int(clock().timestamp())
    claims = id_claims(idp, clock, exp=now - 59, iat=now + 59, nbf=now + 59)
    assert (await check_id_token(idp, clock, sign(claims, PROVIDER_KEY, RSA))).sub == "user-1"


@pytest.mark.parametrize(
    ("nonce", "reason"),
    [
        ("another", "nonce_mismatch"),
        (None, "nonce_missing"),
        (7, "nonce_mismatch"),
        (NONCE + " ", "nonce_mismatch"),
    ],
)
async def test_the_nonce_must_be_the_one_sent(
    idp: Idp, clock: Clock, nonce: Any, reason: str
) -> None:
    claims = {**id_claims(idp, clock), "nonce": nonce}
    if nonce is None:
        del claims["nonce"]
    await _refused(reason, idp, clock, sign(claims, PROVIDER_KEY, RSA))


async def test_the_nonce_is_not_asked_for_when_none_was_sent(idp: Idp, clock: Clock) -> None:
    token = sign(id_claims(idp, clock, nonce=None), PROVIDER_KEY, RSA)
    assert (await check_id_token(idp, clock, token, nonce=None)).nonce is None


async def test_an_unknown_kid_refetches_once_then_is_refused(idp: Idp, clock: Clock) -> None:
    cache = idp.cache(clock, jwks_refetch_min_interval_seconds=60)
    keys = cache.resolver(idp.issuer)
    assert await check_id_token(
        idp, clock, sign(id_claims(idp, clock), PROVIDER_KEY, RSA), keys=keys
    )
    clock.advance(61)
    stranger = RSAKey.generate_key(2048)
    for kid in ("unknown-1", "unknown-2"):
        token = sign(id_claims(idp, clock), stranger, {"alg": "RS256", "kid": kid})
        error = await _refused("unknown_kid", idp, clock, token, keys=keys)
        assert error.details == {"kid": kid}
    assert idp.hits("/jwks") == 2  # the first unknown kid refetched, the second did not


@pytest.fixture
def attacker() -> Any:
    """A server an attacker controls, serving the attacker's key as a JWK Set and as a
    certificate, and counting whether anyone asked."""
    from tests.loopback_http import LoopbackHttp

    key = RSAKey.generate_key(2048)
    jwks = json.dumps({"keys": [{**key.as_dict(private=False), "kid": "rsa-1"}]}).encode()
    server = LoopbackHttp(lambda path: (200, {"Content-Type": "application/json"}, jwks))
    yield key, server
    server.close()


def _certificate_of(key: RSAKey) -> str:
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    private = serialization.load_pem_private_key(key.as_pem(private=True), None)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "attacker")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(private, hashes.SHA256())  # type: ignore[arg-type]
    )
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


@pytest.mark.parametrize("header", ["jwk", "jku", "x5u", "x5c"])
@pytest.mark.parametrize("kid", ["rsa-1", None])
async def test_headers_naming_a_key_are_ignored(
    idp: Idp, clock: Clock, attacker: Any, header: str, kid: str | None
) -> None:
    """RFC 8725 §3.10: a token signed by the attacker's key, carrying that key (or where to
    fetch it) in its header, is checked against the issuer's JWKS only, so it fails."""
    key, server = attacker
    value = {
        "jwk": key.as_dict(private=False),
        "jku": f"{server.origin}/jwks",
        "x5u": f"{server.origin}/cert.pem",
        "x5c": [_certificate_of(key)],
    }[header]
    protected = {"alg": "RS256", header: value, **({"kid": kid} if kid else {})}
    await _refused("signature_invalid", idp, clock, sign(id_claims(idp, clock), key, protected))
    assert server.requests == []


async def test_a_stripped_signature_is_refused(idp: Idp, clock: Clock) -> None:
    token = sign(id_claims(idp, clock), PROVIDER_KEY, RSA)
    await _refused("signature_invalid", idp, clock, token.rpartition(".")[0] + ".")


async def test_a_tampered_payload_or_signature_is_refused(idp: Idp, clock: Clock) -> None:
    header, _, signature = sign(id_claims(idp, clock), PROVIDER_KEY, RSA).split(".")
    forged = b64url(json.dumps(id_claims(idp, clock, sub="admin")).encode())
    await _refused("signature_invalid", idp, clock, f"{header}.{forged}.{signature}")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    token = sign(id_claims(idp, clock), PROVIDER_KEY, RSA)
    await _refused("signature_invalid", idp, clock, token.rpartition(".")[0] + "." + flipped)


@pytest.mark.parametrize("crit", [["exp"], ["b64"], [], "x"])
async def test_an_unknown_crit_is_refused(idp: Idp, clock: Clock, crit: Any) -> None:
    protected = {**RSA, "crit": crit, "exp": 1, "b64": True}
    await _refused(
        "crit_unsupported", idp, clock, sign(id_claims(idp, clock), PROVIDER_KEY, protected)
    )


async def test_an_ecdsa_signature_rewritten_keeps_its_replay_key(idp: Idp, clock: Clock) -> None:
    """``s`` → ``n - s`` makes another valid ES256 signature of the same token: replay is
    detected on the signed part, not on the string."""
    key = idp.keys["ec"] = ECKey.generate_key("P-256")
    token = sign(id_claims(idp, clock), key, {"alg": "ES256", "kid": "ec"})
    signed, _, signature = token.rpartition(".")
    raw = base64.urlsafe_b64decode(signature + "==")
    n = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    s = int.from_bytes(raw[32:], "big")
    rewritten = f"{signed}.{b64url(raw[:32] + (n - s).to_bytes(32, 'big'))}"
    assert rewritten != token
    first = await check_id_token(idp, clock, token)
    second = await check_id_token(idp, clock, rewritten)
    assert first.replay_key == second.replay_key


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("not-a-jwt", "malformed"),
        ("a.b.c.d.e", "encrypted_unsupported"),
        ("!!.e30.sig", "malformed"),
        (b64url(b"[]") + ".e30.sig", "malformed"),
        (b64url(b'{"alg":"RS256","alg":"none"}') + ".e30.sig", "malformed"),
        ("é.e30.sig", "malformed"),
        ("a" * 70_000 + ".e30.sig", "too_large"),
    ],
)
async def test_malformed_tokens_are_refused(
    idp: Idp, clock: Clock, token: str, reason: str
) -> None:
    await _refused(reason, idp, clock, token)


async def test_repeated_claim_names_are_refused(idp: Idp, clock: Clock) -> None:
    """A parser keeping the last ``sub`` would read what another keeps the first of."""
    payload = json.dumps(id_claims(idp, clock))[:-1] + ', "sub": "admin"}'
    token = sign_bytes(payload.encode(), PROVIDER_KEY, RSA)
    await _refused("malformed", idp, clock, token)


@pytest.mark.parametrize(
    ("sub", "reason"),
    [
        (None, "claim_missing"),
        ("", "subject_invalid"),
        (7, "subject_invalid"),
        ("x" * 256, "subject_invalid"),
        ("a\x00b", "subject_invalid"),
    ],
)
async def test_sub_is_a_bounded_string(idp: Idp, clock: Clock, sub: Any, reason: str) -> None:
    claims = {**id_claims(idp, clock), "sub": sub}
    if sub is None:
        del claims["sub"]
    await _refused(reason, idp, clock, sign(claims, PROVIDER_KEY, RSA))
    assert (
        await check_id_token(
            idp, clock, sign(id_claims(idp, clock, sub="x" * 255), PROVIDER_KEY, RSA)
        )
    ).sub


@pytest.mark.parametrize("typ", ["logout+jwt", "application/at+jwt", 5])
async def test_a_token_typed_as_another_kind_of_jwt_is_refused(
    idp: Idp, clock: Clock, typ: Any
) -> None:
    token = sign(id_claims(idp, clock), PROVIDER_KEY, {**RSA, "typ": typ})
    await _refused("typ_mismatch", idp, clock, token)
    ok = sign(id_claims(idp, clock), PROVIDER_KEY, {**RSA, "typ": "JWT"})
    assert await check_id_token(idp, clock, ok)


async def test_max_age_needs_a_recent_auth_time(idp: Idp, clock: Clock) -> None:
    now = int(clock().timestamp())
    await _refused(
        "auth_time_missing", idp, clock, sign(id_claims(idp, clock), PROVIDER_KEY, RSA), max_age=0
    )
    old = sign(id_claims(idp, clock, auth_time=now - 400), PROVIDER_KEY, RSA)
    await _refused("auth_too_old", idp, clock, old, max_age=300)
    fresh = sign(id_claims(idp, clock, auth_time=now - 10), PROVIDER_KEY, RSA)
    got = await check_id_token(idp, clock, fresh, max_age=0)
    assert got.auth_time is not None and got.auth_time.timestamp() == now - 10


@pytest.mark.parametrize("spec", ["RS256,HS256", "none", "RS256, hs512", " , "])
def test_the_allow_list_setting_takes_asymmetric_algorithms_only(spec: str) -> None:
    from pydantic import ValidationError

    from propylon.settings import Settings

    with pytest.raises(ValidationError):
        Settings(oidc_allowed_algorithms=spec)
    assert Settings(oidc_allowed_algorithms=" ES256 ,EdDSA").oidc_algorithms() == {"ES256", "EdDSA"}
