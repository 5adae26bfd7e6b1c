"""Which stage of a test connection a refusal belongs to, and the stages of a result.

Every SAML :class:`~propylon.saml.errors.Reason`, every OpenID Connect reason
(:data:`propylon.oidc.errors.REASONS`) and every reason the sign-in adds
(:data:`SIGN_IN_REASONS`) names one stage of :data:`~propylon.setup.model.SAML_STAGES` /
:data:`~propylon.setup.model.OIDC_STAGES`. The stage lists follow the order the validators
check in, so a failure at one stage means the earlier ones passed: for SAML a signed
Response is verified first, then its Status, Issuer, Destination and InResponseTo, then the
assertion's Issuer, its SubjectConfirmation (Recipient, InResponseTo, NotOnOrAfter) and its
Conditions (time window, then AudienceRestriction). An unsigned Response whose assertion is
signed has its Issuer, Destination and InResponseTo checked before the assertion's
signature: :func:`build_stages` is told so (``signature_checked=False``) and leaves the
signature stage ``not_reached`` then."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from propylon.oidc.errors import REASONS as OIDC_REASONS
from propylon.saml.errors import Reason
from propylon.setup.model import OIDC_STAGES, SAML_STAGES, Stage, StageState

LABELS: Final = {
    "idp_reached": "Identity provider reached",
    "response_received": "Response received",
    "token": "Code exchanged for tokens",
    "signature": "Signature",
    "issuer": "Issuer",
    "audience": "Audience",
    "destination": "Destination and recipient",
    "time_window": "Time window",
    "in_response_to": "InResponseTo",
    "nonce": "Nonce",
    "attributes": "Attributes mapped",
    "user": "User matched",
}

_SAML: Final[dict[str, tuple[Reason, ...]]] = {
    "response_received": (
        Reason.MALFORMED_BASE64,
        Reason.TOO_LARGE,
        Reason.MALFORMED_XML,
        Reason.UNSUPPORTED_ENCODING,
        Reason.DOCTYPE_FORBIDDEN,
        Reason.NOT_A_RESPONSE,
        Reason.UNSUPPORTED_VERSION,
        Reason.DUPLICATE_ID,
        Reason.MISSING_ID,
        Reason.MALFORMED_TIME,
        Reason.STATUS_NOT_SUCCESS,
        Reason.NO_ASSERTION,
        Reason.ASSERTION_NOT_ENCRYPTED,
        Reason.MULTIPLE_ASSERTIONS,
        Reason.UNEXPECTED_CONTENT,
        Reason.SUBJECT_MISSING,
        Reason.NAMEID_MISSING,
        Reason.NAMEID_MALFORMED,
        Reason.METADATA_INVALID,
        Reason.MESSAGE_INVALID,
    ),
    "signature": (
        Reason.SIGNATURE_MISSING,
        Reason.ASSERTION_SIGNATURE_MISSING,
        Reason.MULTIPLE_SIGNATURES,
        Reason.SIGNATURE_MALFORMED,
        Reason.SIGNATURE_REFERENCE_MISMATCH,
        Reason.UNSUPPORTED_ALGORITHM,
        Reason.SHA1_FORBIDDEN,
        Reason.DIGEST_MISMATCH,
        Reason.SIGNATURE_INVALID,
        Reason.DECRYPTION_KEY_MISSING,
        Reason.DECRYPTION_FAILED,
        Reason.UNSUPPORTED_ENCRYPTION_ALGORITHM,
    ),
    "issuer": (Reason.ISSUER_MISMATCH, Reason.ISSUER_MISSING),
    "destination": (
        Reason.DESTINATION_MISMATCH,
        Reason.DESTINATION_MISSING,
        Reason.RECIPIENT_MISMATCH,
        Reason.NO_BEARER_CONFIRMATION,
    ),
    "in_response_to": (Reason.IN_RESPONSE_TO_MISMATCH, Reason.UNSOLICITED_RESPONSE),
    "time_window": (
        Reason.SUBJECT_CONFIRMATION_EXPIRED,
        Reason.SUBJECT_CONFIRMATION_NOT_YET_VALID,
        Reason.ASSERTION_EXPIRED,
        Reason.ASSERTION_NOT_YET_VALID,
        Reason.SESSION_EXPIRED,
    ),
    "audience": (Reason.AUDIENCE_MISMATCH, Reason.CONDITIONS_MISSING, Reason.UNKNOWN_CONDITION),
    "attributes": (Reason.AUTHN_STATEMENT_MISSING,),
}
SAML_STAGE: Final[dict[str, str]] = {r.value: st for st, rs in _SAML.items() for r in rs}
"""The test stage of every SAML reason."""

_OIDC: Final[dict[str, tuple[str, ...]]] = {
    "idp_reached": ("discovery_failed", "metadata_invalid"),
    "response_received": ("iss_missing",),
    "token": (
        "token_error",
        "token_response_invalid",
        "malformed",
        "too_large",
        "encrypted_unsupported",
        "crit_unsupported",
        "typ_mismatch",
        "claim_missing",
    ),
    "signature": (
        "alg_not_allowed",
        "unknown_kid",
        "key_mismatch",
        "signature_invalid",
        "jwks_failed",
    ),
    "issuer": ("issuer_mismatch",),
    "audience": ("audience_mismatch", "untrusted_audience", "azp_missing", "azp_mismatch"),
    "time_window": (
        "expired",
        "issued_in_future",
        "not_yet_valid",
        "auth_time_missing",
        "auth_too_old",
    ),
    "nonce": ("nonce_missing", "nonce_mismatch", "nonce_present"),
    "attributes": (
        "subject_invalid",
        "events_invalid",
        "subject_mismatch",
        "userinfo_unavailable",
        "userinfo_failed",
        "userinfo_invalid",
    ),
}
OIDC_STAGE: Final[dict[str, str]] = {r: st for st, rs in _OIDC.items() for r in rs}
"""The test stage of every OpenID Connect reason."""

SIGN_IN_REASONS: Final[dict[str, str]] = {
    "idp_error": "response_received",
    "code_missing": "response_received",
    "state_invalid": "response_received",
    "pending_login_invalid": "response_received",
    "request_used_or_expired": "response_received",
    "assertion_replayed": "response_received",
    "id_token_replayed": "token",
    "idp_unreachable": "token",
    "email_missing": "attributes",
    "email_not_verified": "attributes",
    "jit_without_email": "attributes",
    "unknown_user": "user",
    "email_domain_not_owned": "user",
    "seat_limit_reached": "user",
    "user_deactivated": "user",
    "user_deprovisioned": "user",
}
"""Reasons of the sign-in itself (``signin/``), the same for both protocols."""

_CLAIM_STAGE: Final = {"aud": "audience", "iat": "time_window", "exp": "time_window"}


def stage_of(protocol: str, reason: str, *, where: str = "", detail: str = "") -> str:
    """The test stage a refusal ``reason`` of ``protocol`` belongs to. ``where``: the OIDC
    library's own stage (an ``issuer_mismatch`` of the authorization response's ``iss`` is
    the response's, not the ID token's); ``detail``: which claim was missing."""
    if reason in SIGN_IN_REASONS:
        return SIGN_IN_REASONS[reason]
    if protocol == "saml":
        return SAML_STAGE.get(reason, "response_received")
    if where == "authorization_response":
        return "response_received"
    if reason == "claim_missing":
        return _CLAIM_STAGE.get(detail.partition(" ")[0], "token")
    return OIDC_STAGE.get(reason, "token")


def stage_names(protocol: str) -> tuple[str, ...]:
    return OIDC_STAGES if protocol == "oidc" else SAML_STAGES


def pending_stages(protocol: str) -> list[Stage]:
    """A test just started: nothing reached yet."""
    return [Stage(n, LABELS[n], "not_reached") for n in stage_names(protocol)]


def build_stages(
    protocol: str,
    *,
    failed: str | None,
    detail: str = "",
    remedy: str | None = None,
    facts: dict[str, Any] | None = None,
    passed_details: dict[str, str] | None = None,
    signature_checked: bool = True,
    signature_verified: bool = False,
) -> list[Stage]:
    """Every stage of a finished test: those before ``failed`` passed, ``failed`` failed
    with ``detail``, ``remedy`` and ``facts``, the rest not reached (all passed when
    ``failed`` is None). ``passed_details``: what a passed stage found ("RSA-SHA256").
    ``signature_verified``: the signature passed although an earlier stage failed (a signed
    Response is verified before its Status is read)."""
    names = stage_names(protocol)
    index = names.index(failed) if failed in names else len(names)
    notes = passed_details or {}
    out: list[Stage] = []
    for i, name in enumerate(names):
        state: StageState = "passed" if i < index else "failed" if i == index else "not_reached"
        if state == "passed" and name == "signature" and not signature_checked:
            state = "not_reached"
        if state == "not_reached" and name == "signature" and signature_verified:
            state = "passed"
        if state == "failed":
            out.append(Stage(name, LABELS[name], state, detail, remedy, dict(facts or {})))
        else:
            out.append(
                Stage(name, LABELS[name], state, notes.get(name, "") if state == "passed" else "")
            )
    return out


def known_reasons() -> set[str]:
    """Every reason a test can fail with (for the remedies' completeness)."""
    return {r.value for r in Reason} | set(OIDC_REASONS) | set(SIGN_IN_REASONS)


_PAIRS: Final = (
    ("expected_issuer", "received_issuer", "issuer"),
    ("expected_audience", "received_audiences", "audience"),
    ("expected_destination", "received_destination", "destination"),
    ("expected_recipient", "received_recipient", "recipient"),
    ("expected_in_response_to", "received_in_response_to", "InResponseTo"),
    ("expected", "found", "issuer"),
)


def _words(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    return "none" if value is None else str(value)


def describe(reason: str, facts: Mapping[str, Any]) -> str:
    """What was found, in plain words: the reason and the telling facts of the refusal."""
    parts = [reason.replace("_", " ").capitalize()]
    for want, got, what in _PAIRS:
        if want in facts or got in facts:
            parts.append(
                f"expected {what} {_words(facts.get(want))}, received {_words(facts.get(got))}"
            )
    if "signature_algorithm" in facts:
        parts.append(f"signed with {_words(facts['signature_algorithm'])}")
        if facts.get("digest_algorithm"):
            parts.append(f"digest {_words(facts['digest_algorithm'])}")
    if "clock_difference_seconds" in facts:
        parts.append(
            f"clock difference {facts['clock_difference_seconds']} s "
            f"(allowed {facts.get('allowed_skew_seconds', '?')} s)"
        )
    if facts.get("status_code"):
        message = f": {facts['status_message']}" if facts.get("status_message") else ""
        parts.append(f"status {_words(facts['status_code'])}{message}")
    if facts.get("error"):
        described = f": {facts['error_description']}" if facts.get("error_description") else ""
        parts.append(f"error {_words(facts['error'])}{described}")
    return "; ".join(parts)
