"""Logout tokens (Back-Channel Logout 1.0 §2.4, §2.6) against the certification themes."""

from __future__ import annotations

from typing import Any

import pytest
from joserfc.jwk import RSAKey

from propylon.oidc.errors import OidcError
from propylon.oidc.logout_token import BACKCHANNEL_LOGOUT_EVENT
from tests.oidc.idp import PROVIDER_KEY, Clock, Idp, sign, unsigned
from tests.oidc.tokens import check_logout_token, id_claims, logout_claims

TYPED = {"alg": "RS256", "kid": "rsa-1", "typ": "logout+jwt"}


async def _refused(reason: str, idp: Idp, clock: Clock, token: str, **options: Any) -> None:
    with pytest.raises(OidcError) as caught:
        await check_logout_token(idp, clock, token, **options)
    assert (caught.value.reason, caught.value.stage) == (reason, "logout_token"), caught.value


@pytest.mark.parametrize(
    "header",
    [TYPED, {"alg": "RS256", "kid": "rsa-1"}, {**TYPED, "typ": "application/logout+jwt"}],
)
async def test_a_good_logout_token_gives_sub_sid_and_jti(
    idp: Idp, clock: Clock, header: dict[str, Any]
) -> None:
    got = await check_logout_token(
        idp, clock, sign(logout_claims(idp, clock), PROVIDER_KEY, header)
    )
    assert (got.issuer, got.sub, got.sid, got.jti) == (
        idp.issuer,
        "user-1",
        "idp-session-1",
        "logout-1",
    )
    assert got.exp is not None and got.replay_until.timestamp() == got.exp.timestamp() + 60


async def test_a_trusted_extra_audience_needs_no_azp(idp: Idp, clock: Clock) -> None:
    claims = logout_claims(idp, clock, aud=["propylon-client", "trusted-api"])
    got = await check_logout_token(
        idp, clock, sign(claims, PROVIDER_KEY, TYPED), trusted_audiences={"trusted-api"}
    )
    assert got.jti == "logout-1"


@pytest.mark.parametrize("changes", [{"sub": None}, {"sid": None}])
async def test_sub_or_sid_alone_is_enough(idp: Idp, clock: Clock, changes: dict[str, Any]) -> None:
    got = await check_logout_token(
        idp, clock, sign(logout_claims(idp, clock, **changes), PROVIDER_KEY, TYPED)
    )
    assert (got.sub is None) != (got.sid is None)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"iss": "https://evil.example"}, "issuer_mismatch"),
        ({"aud": "another-client"}, "audience_mismatch"),
        ({"aud": ["propylon-client", "evil"]}, "untrusted_audience"),
        ({"nonce": "n"}, "nonce_present"),
        ({"events": None}, "events_invalid"),
        ({"events": {"http://schemas.openid.net/event/other": {}}}, "events_invalid"),
        ({"events": {BACKCHANNEL_LOGOUT_EVENT: "yes"}}, "events_invalid"),
        ({"events": [BACKCHANNEL_LOGOUT_EVENT]}, "events_invalid"),
        ({"jti": None}, "claim_missing"),
        ({"jti": ""}, "subject_invalid"),
        ({"sub": None, "sid": None}, "claim_missing"),
        ({"sid": 5}, "subject_invalid"),
        ({"iat": None}, "claim_missing"),
    ],
)
async def test_claims_that_break_the_rules_are_refused(
    idp: Idp, clock: Clock, changes: dict[str, Any], reason: str
) -> None:
    await _refused(
        reason, idp, clock, sign(logout_claims(idp, clock, **changes), PROVIDER_KEY, TYPED)
    )


async def test_times(idp: Idp, clock: Clock) -> None:
    now = int(clock().timestamp())
    for changes, reason in (
        ({"exp": now - 61}, "expired"),
        ({"iat": now + 61}, "issued_in_future"),
        ({"exp": None, "iat": now - 181}, "expired"),  # no exp: 120 s after iat, plus skew
    ):
        await _refused(
            reason, idp, clock, sign(logout_claims(idp, clock, **changes), PROVIDER_KEY, TYPED)
        )
    got = await check_logout_token(
        idp, clock, sign(logout_claims(idp, clock, exp=None, iat=now - 170), PROVIDER_KEY, TYPED)
    )
    assert got.exp is None and got.replay_until.timestamp() == now - 170 + 120 + 60


async def test_alg_none_hmac_and_algorithms_off_the_list_are_refused(
    idp: Idp, clock: Clock
) -> None:
    claims = logout_claims(idp, clock)
    await _refused(
        "alg_not_allowed", idp, clock, unsigned(claims, {"alg": "none", "typ": "logout+jwt"})
    )
    hmac = sign(claims, PROVIDER_KEY.as_pem(private=False), {**TYPED, "alg": "HS256"})
    await _refused("alg_not_allowed", idp, clock, hmac)
    rs512 = sign(claims, PROVIDER_KEY, {**TYPED, "alg": "RS512"})
    await _refused("alg_not_allowed", idp, clock, rs512, allowed_algs={"RS256"})


async def test_a_signature_by_another_key_is_refused(idp: Idp, clock: Clock) -> None:
    await _refused(
        "signature_invalid",
        idp,
        clock,
        sign(logout_claims(idp, clock), RSAKey.generate_key(2048), TYPED),
    )


@pytest.mark.parametrize("typ", ["JWT", "at+jwt", 1])
async def test_a_typ_other_than_logout_jwt_is_refused(idp: Idp, clock: Clock, typ: Any) -> None:
    await _refused(
        "typ_mismatch",
        idp,
        clock,
        sign(logout_claims(idp, clock), PROVIDER_KEY, {**TYPED, "typ": typ}),
    )


async def test_an_id_token_is_no_logout_token(idp: Idp, clock: Clock) -> None:
    """Cross-JWT confusion (§4.1): an ID token has no events claim."""
    id_token = sign(
        id_claims(idp, clock, nonce=None, jti="j"), PROVIDER_KEY, {"alg": "RS256", "kid": "rsa-1"}
    )
    await _refused("events_invalid", idp, clock, id_token)


async def test_an_unknown_crit_is_refused(idp: Idp, clock: Clock) -> None:
    await _refused(
        "crit_unsupported",
        idp,
        clock,
        sign(logout_claims(idp, clock), PROVIDER_KEY, {**TYPED, "crit": ["x"], "x": 1}),
    )
