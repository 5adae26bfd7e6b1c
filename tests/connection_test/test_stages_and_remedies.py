"""Every refusal reason a test can end with belongs to a stage of its protocol and has a
generic remedy (vendors' own where their consoles name fields differently); a failure at one
stage marks the earlier ones passed and the later ones not reached; a test's pending login
carries its test id sealed, and a normal sign-in refuses such a login."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import cast

import pytest

from propylon.oidc.errors import REASONS as OIDC_REASONS
from propylon.runtime import Runtime
from propylon.saml.errors import Reason
from propylon.sessions.pending_cookie import PendingLogin, PendingLoginSeal, new_relay_state
from propylon.sessions.service import SessionTenant, SessionUser
from propylon.setup.model import OIDC_STAGES, SAML_STAGES
from propylon.setup.remedies import GENERIC, VENDOR, VENDORS, remedy
from propylon.setup.stages import (
    SIGN_IN_REASONS,
    build_stages,
    describe,
    known_reasons,
    stage_of,
)
from propylon.signin.connection_test_record import StageFailure, judge_user
from propylon.signin.saml_sso import LoginRefused, open_pending
from propylon.signin.user_match import Identity

NOW = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)


def test_every_saml_reason_has_a_saml_stage() -> None:
    for reason in Reason:
        assert stage_of("saml", reason.value) in SAML_STAGES, reason


def test_every_oidc_reason_has_an_oidc_stage() -> None:
    for reason in OIDC_REASONS:
        assert stage_of("oidc", reason) in OIDC_STAGES, reason
    for reason, stage in SIGN_IN_REASONS.items():
        assert stage in SAML_STAGES or stage in OIDC_STAGES, reason
    # the authorization response's iss is checked before any token is asked for
    assert stage_of("oidc", "issuer_mismatch", where="authorization_response") == (
        "response_received"
    )
    assert stage_of("oidc", "issuer_mismatch", where="id_token") == "issuer"
    assert stage_of("oidc", "claim_missing", detail="aud is missing") == "audience"
    assert stage_of("oidc", "claim_missing", detail="exp is missing") == "time_window"


def test_the_saml_stages_follow_the_validators_order() -> None:
    """A signed Response: signature, Status, Issuer, Destination, InResponseTo, then the
    assertion's SubjectConfirmation (time) and Conditions (time, then audience)."""
    order = [SAML_STAGES.index(s) for s in ("signature", "issuer", "destination")]
    order += [SAML_STAGES.index(s) for s in ("in_response_to", "time_window", "audience")]
    assert order == sorted(order)
    assert SAML_STAGES[0] == "idp_reached" and SAML_STAGES[-2:] == ("attributes", "user")


def test_every_reason_has_a_generic_remedy() -> None:
    missing = known_reasons() - set(GENERIC)
    assert not missing
    for reason in known_reasons():
        for vendor in VENDORS:
            text = remedy(reason, vendor, {})
            assert text and "{" not in text, (reason, vendor, text)
    assert {vendor for _, vendor in VENDOR} <= set(VENDORS)


def test_vendor_remedies_name_the_vendors_fields() -> None:
    assert remedy("sha1_forbidden", "okta") == (
        "The IdP signs with SHA-1: in Okta, open the app's SAML settings, Advanced, and choose "
        "SHA-256 for the signature and digest algorithm."
    )
    assert "SHA-256" in remedy("sha1_forbidden", "generic")
    entra = remedy(
        "audience_mismatch",
        "entra",
        {"expected_audience": "https://sp.example/saml/conn_1", "received_audiences": ["x"]},
    )
    assert "Identifier (Entity ID)" in entra and "https://sp.example/saml/conn_1" in entra
    assert "Attribute Statements" in remedy("email_missing", "okta")
    assert "Attributes & Claims" in remedy("email_missing", "entra")
    assert "unknown-vendor" not in remedy("email_missing", "unknown-vendor")


def test_remedy_facts_are_never_templates() -> None:
    """A fact from the IdP's message is text, never expanded (no format injection)."""
    text = remedy("issuer_mismatch", "generic", {"received_issuer": "{expected_issuer.__class__}"})
    assert "{expected_issuer.__class__}" in text


@pytest.mark.parametrize("failed", ["signature", "audience", "user"])
def test_a_failure_marks_the_earlier_stages_passed(failed: str) -> None:
    stages = build_stages("saml", failed=failed, detail="d", remedy="r", facts={"a": 1})
    names = [s.name for s in stages]
    assert names == list(SAML_STAGES)
    at = names.index(failed)
    assert [s.state for s in stages[:at]] == ["passed"] * at
    assert stages[at].state == "failed" and stages[at].remedy == "r"
    assert stages[at].facts == {"a": 1}
    assert {s.state for s in stages[at + 1 :]} <= {"not_reached"}


def test_an_unsigned_response_leaves_the_signature_unreached() -> None:
    """Assertion-only signing: the Response's Issuer is checked before the signature."""
    stages = build_stages("saml", failed="issuer", signature_checked=False)
    assert {s.name: s.state for s in stages}["signature"] == "not_reached"
    assert {s.name: s.state for s in build_stages("oidc", failed=None)}["nonce"] == "passed"


def test_a_signature_verified_before_an_error_status_is_shown_passed() -> None:
    """A signed Response is verified before its Status: the signature passed, the stages
    after it not reached."""
    stages = {
        s.name: s.state
        for s in build_stages("saml", failed="response_received", signature_verified=True)
    }
    assert stages["response_received"] == "failed" and stages["signature"] == "passed"
    assert stages["issuer"] == stages["audience"] == "not_reached"
    plain = build_stages("saml", failed="response_received")
    assert {s.name: s.state for s in plain}["signature"] == "not_reached"


def test_describe_says_what_was_expected_and_received() -> None:
    text = describe(
        "audience_mismatch", {"expected_audience": "A", "received_audiences": ["B", "C"]}
    )
    assert text == "Audience mismatch; expected audience A, received B, C"


def test_a_tests_pending_login_keeps_its_test_id_sealed() -> None:
    seal = PendingLoginSeal(lambda: [secrets.token_bytes(32)])
    relay = new_relay_state()
    login = PendingLogin(
        request_id="_r1",
        connection_id="conn_1",
        return_to="",
        force_authn=False,
        created_at=NOW,
        expires_at=NOW + timedelta(minutes=5),
        test_id="ctest_abc",
    )
    opened = seal.open(relay, seal.seal(relay, login))
    assert opened == login
    plain = replace(login, test_id=None, return_to="/oauth2/authorize?x=1")
    assert seal.open(relay, seal.seal(relay, plain)) == plain


def test_a_normal_sign_in_refuses_a_tests_pending_login() -> None:
    """Only the test engine answers a test's login (it never starts a session)."""
    seal = PendingLoginSeal(lambda: [secrets.token_bytes(32)])
    relay = new_relay_state()
    login = PendingLogin(
        request_id="_r1",
        connection_id="conn_1",
        return_to="/oauth2/authorize?x=1",
        force_authn=False,
        created_at=NOW,
        expires_at=NOW + timedelta(minutes=5),
        test_id="ctest_abc",
    )
    rt = cast(Runtime, SimpleNamespace(pending_logins=seal))
    sealed = seal.seal(relay, login)
    with pytest.raises(LoginRefused) as refused:
        open_pending(rt, relay, sealed, "conn_1", "saml", NOW)
    assert refused.value.reason == "pending_login_invalid"
    ok = seal.seal(relay, replace(login, test_id=None))
    assert open_pending(rt, relay, ok, "conn_1", "saml", NOW).test_id is None


def _user(active: bool = True, deleted: bool = False) -> Identity:
    user = SessionUser(
        id="user_1",
        tenant_id="tenant_1",
        email="ada@acme.example",
        display_name=None,
        given_name="Ada",
        family_name=None,
        active=active,
        deleted_at=NOW if deleted else None,
    )
    return user, SessionTenant("tenant_1", "acme", "Acme")


def test_the_user_outcome_never_provisions_and_names_refusals() -> None:
    ada = "ada@acme.example"
    assert judge_user(_user(), ada, jit=False, email_needed=True) == {
        "outcome": "existing",
        "user_id": "user_1",
        "email": ada,
    }
    assert judge_user(None, ada, jit=True, email_needed=True)["outcome"] == "would_create"
    both = {"jit": True, "email_needed": True}
    cases = [
        ((None, ada), {"jit": False, "email_needed": True}, "unknown_user", "user"),
        ((None, None), {"jit": True, "email_needed": False}, "email_missing", "attributes"),
        ((None, None), {"jit": False, "email_needed": True}, "email_missing", "attributes"),
        ((_user(active=False), ada), both, "user_deactivated", "user"),
        ((_user(deleted=True), ada), both, "user_deprovisioned", "user"),
    ]
    for args, kw, reason, stage in cases:
        with pytest.raises(StageFailure) as failed:
            judge_user(*args, **kw)
        assert (failed.value.reason, failed.value.stage) == (reason, stage)
