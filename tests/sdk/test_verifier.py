"""Token verification without a server: the JWS, the RFC 9068 claims, the algorithm
allow-list and the local view's decisions, on tokens signed here with ``cryptography``."""

from __future__ import annotations

import json
import time

import pytest

from propylon.sdk.errors import InvalidToken
from propylon.sdk.verifier import UnknownKey
from propylon.sdk.view import LocalView
from tests.sdk.tokens import AUDIENCE, Issuer, b64, claims, verifier

KEY = Issuer()


def _reason(v: object, token: str) -> str:
    with pytest.raises(InvalidToken) as e:
        v.check(token)  # type: ignore[attr-defined]
    return e.value.reason


def test_a_valid_es256_token_gives_the_principal_with_its_claims() -> None:
    v = verifier(KEY)
    p = v.check(KEY.sign(claims(tier="gold", programs=["beta"])))
    assert p is not None and p.user_id == "usr_1" and p.tenant_id == "ten_1"
    assert p.roles == ("viewer",) and p.tier == "gold" and p.programs == ("beta",)
    assert p.entitlements_version == 1 and p.session_id == "ses_1" and p.grant_id == "grt_1"
    assert p.auth_method == "saml" and p.idp == "conn_1" and p.source == "token"
    assert p.scopes == {"openid", "email"} and p.has_role("viewer")


def test_an_rs256_token_verifies_with_an_rsa_key() -> None:
    rsa_issuer = Issuer("r1", rsa_key=True)
    assert verifier(rsa_issuer).check(rsa_issuer.sign(claims())) is not None


def test_a_changed_payload_or_signature_is_refused() -> None:
    v = verifier(KEY)
    h, _, s = KEY.sign(claims()).split(".")
    forged = b64(json.dumps(claims(sub="usr_admin")).encode())
    assert _reason(v, f"{h}.{forged}.{s}") == "bad_signature"
    other = Issuer("k1").sign(claims())  # same kid, another key
    assert _reason(v, other) == "bad_signature"
    assert _reason(v, "a.b") == "malformed" and _reason(v, "x" * 9000) == "malformed"


def test_algorithms_outside_the_allow_list_or_of_another_key_type_are_refused() -> None:
    v = verifier(KEY)
    h = b64(json.dumps({"alg": "none", "kid": "k1", "typ": "at+jwt"}).encode())
    assert _reason(v, f"{h}.{b64(json.dumps(claims()).encode())}.") == "algorithm"
    assert _reason(v, KEY.sign(claims(), alg="HS256")) == "algorithm"
    assert _reason(v, KEY.sign(claims(), alg="RS256")) == "algorithm"  # EC key named RS256


def test_the_profile_claims_are_checked() -> None:
    v = verifier(KEY)
    now = int(time.time())
    assert _reason(v, KEY.sign(claims(), typ="JWT")) == "typ"
    assert v.check(KEY.sign(claims(), typ="application/at+jwt")) is not None
    assert _reason(v, KEY.sign(claims(iss="https://evil.test"))) == "issuer"
    assert _reason(v, KEY.sign(claims(aud="other"))) == "audience"
    assert v.check(KEY.sign(claims(aud=["other", AUDIENCE]))) is not None
    assert _reason(v, KEY.sign(claims(iat=now - 400, exp=now - 31))) == "expired"
    assert v.check(KEY.sign(claims(iat=now - 300, exp=now - 10))) is not None  # leeway
    assert _reason(v, KEY.sign(claims(iat=now + 120, exp=now + 400))) == "not_yet_valid"
    assert _reason(v, KEY.sign(claims(nbf=now + 120))) == "not_yet_valid"
    assert _reason(v, KEY.sign(claims(exp=now + 7200))) == "lifetime"
    assert _reason(v, KEY.sign(claims(sid=None))) == "claims"
    assert _reason(v, KEY.sign(claims(exp="soon"))) == "claims"


def test_an_unknown_kid_asks_the_caller_to_refetch_the_keys() -> None:
    v = verifier(KEY)
    with pytest.raises(UnknownKey):
        v.check(Issuer("k2").sign(claims()))
    assert v.jwks.may_fetch() is False  # just loaded: the rate limit holds


def test_with_a_stale_view_the_verifier_asks_for_introspection() -> None:
    view = LocalView(staleness=3)
    v = verifier(KEY, view=view)
    assert v.check(KEY.sign(claims())) is None
    view.heartbeat(0)
    assert v.check(KEY.sign(claims())) is not None


def _fresh() -> LocalView:
    view = LocalView(staleness=3)
    view.heartbeat(0)
    return view


def test_the_view_refuses_revoked_sessions_grants_users_tenants_and_connections() -> None:
    now = int(time.time())
    cases = [
        ({"type": "session.revoked", "data": {"session": {"id": "ses_1"}}}, "session_revoked"),
        ({"type": "grant.revoked", "data": {"grant_id": "grt_1"}}, "grant_revoked"),
        ({"type": "user.sessions_revoked", "data": {"user_id": "usr_1", "before": now}},
         "user_revoked"),
        ({"type": "user.deactivated", "data": {"user": {"id": "usr_1"}}}, "user_revoked"),
        ({"type": "tenant.sessions_revoked",
          "data": {"tenant_id": "ten_1", "auth_methods": ["saml"], "before": now}},
         "tenant_revoked"),
        ({"type": "connection.deleted", "subject": {"type": "connection", "id": "conn_1"},
          "data": {"connection": {"connection_id": "conn_1"}, "protocol": "saml"}},
         "connection_revoked"),
        ({"type": "connection.updated", "subject": {"type": "connection", "id": "conn_1"},
          "data": {"connection": {"connection_id": "conn_1", "disabled": True},
                   "protocol": "oidc"}}, "connection_revoked"),
    ]  # fmt: skip
    token = KEY.sign(claims(iat=now - 5))
    for event, reason in cases:
        view = _fresh()
        v = verifier(KEY, view=view)
        assert v.check(token) is not None
        view.apply({"seq": 1, "created_at": now, **event})
        assert _reason(v, token) == reason, event


def test_a_token_issued_after_the_users_cutoff_is_accepted_after_reactivation() -> None:
    now = int(time.time())
    view = _fresh()
    v = verifier(KEY, view=view)
    view.apply({"seq": 1, "type": "user.deactivated", "created_at": now - 100,
                "data": {"user": {"id": "usr_1"}}})  # fmt: skip
    assert _reason(v, KEY.sign(claims(iat=now))) == "user_revoked"
    view.apply({"seq": 2, "type": "user.reactivated", "created_at": now - 50,
                "data": {"user": {"id": "usr_1"}}})  # fmt: skip
    assert v.check(KEY.sign(claims(iat=now))) is not None
    assert _reason(v, KEY.sign(claims(iat=now - 101))) == "user_revoked"


def test_newer_entitlements_in_the_view_replace_the_tokens_and_older_ones_do_not() -> None:
    view = _fresh()
    v = verifier(KEY, view=view)
    change = {
        "type": "user.entitlements_changed",
        "seq": 3,
        "data": {
            "user": {"id": "usr_1"},
            "entitlements": {"version": 2, "roles": ["admin"], "tier": "gold", "programs": ["p"]},
        },
    }
    view.apply(change)
    p = v.check(KEY.sign(claims()))
    assert p is not None and p.roles == ("admin",) and p.tier == "gold" and p.source == "view"
    assert p.entitlements_version == 2
    p = v.check(KEY.sign(claims(entitlements_version=2, roles=["x"])))
    assert p is not None and p.roles == ("x",) and p.source == "token"
    old = {**change, "data": {**change["data"], "entitlements": {"version": 1, "roles": []}}}
    view.apply(old)
    assert view.entitlements["usr_1"].version == 2


def test_the_view_goes_stale_without_heartbeats_and_forgets_old_facts() -> None:
    clock = [100.0]
    wall = [1_000_000.0]
    view = LocalView(staleness=3, retention=60, monotonic=lambda: clock[0], wall=lambda: wall[0])
    view.heartbeat(5)
    assert view.fresh()
    clock[0] += 3.5
    assert not view.fresh()
    view.heartbeat(6)
    view.lost()
    assert not view.fresh()
    view.apply({"seq": 7, "type": "session.revoked", "created_at": wall[0],
                "data": {"session": {"id": "s"}}})  # fmt: skip
    wall[0] += 61
    for i in range(1000):
        view.apply({"seq": 8 + i, "type": "user.updated", "data": {}})
    assert "s" not in view.revoked_sessions and view.last_seq == 1007


def test_a_connection_edited_but_enabled_ends_nothing() -> None:
    view = _fresh()
    v = verifier(KEY, view=view)
    view.apply({"seq": 1, "type": "connection.updated",
                "subject": {"type": "connection", "id": "conn_1"},
                "data": {"connection": {"connection_id": "conn_1", "disabled": False,
                                        "name": "renamed"}, "protocol": "saml"}})  # fmt: skip
    assert v.check(KEY.sign(claims())) is not None
