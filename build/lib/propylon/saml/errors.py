"""Typed failures of SAML processing.

Every refusal raised by :mod:`propylon.saml` is a :class:`SamlValidationError`
whose :attr:`~SamlValidationError.reason` is one :class:`Reason` member naming
the exact rule that failed, in a named :attr:`~SamlValidationError.stage` of the
processing. ``detail`` is a human-readable hint for logs; ``details`` are the
structured facts an administrator needs to fix the set-up (expected and received
issuer, audience, destination, times and the clock difference, algorithms,
certificate fingerprints). Both may quote values from the message: never secrets
(no key, no assertion content beyond the NameID), each bounded in length, and never
to be shown as trusted data.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final

__all__ = ["Detail", "Reason", "SamlValidationError", "bounded"]

Detail = str | int | list[str]
MAX_DETAIL_CHARS: Final = 256
MAX_DETAIL_ITEMS: Final = 10


class Reason(StrEnum):
    """Machine-readable reason of a refusal (stable strings, safe to log and count)."""

    # Transport / parsing (SAML Bindings §3.5.4, XML 1.0)
    MALFORMED_BASE64 = "malformed_base64"
    TOO_LARGE = "too_large"
    MALFORMED_XML = "malformed_xml"
    UNSUPPORTED_ENCODING = "unsupported_encoding"
    DOCTYPE_FORBIDDEN = "doctype_forbidden"
    # Protocol structure (SAML Core §3.2.2, §3.3.3)
    NOT_A_RESPONSE = "not_a_response"
    UNSUPPORTED_VERSION = "unsupported_version"
    DUPLICATE_ID = "duplicate_id"
    MISSING_ID = "missing_id"
    MALFORMED_TIME = "malformed_time"
    STATUS_NOT_SUCCESS = "status_not_success"
    NO_ASSERTION = "no_assertion"
    ASSERTION_NOT_ENCRYPTED = "assertion_not_encrypted"
    MULTIPLE_ASSERTIONS = "multiple_assertions"
    UNEXPECTED_CONTENT = "unexpected_content"
    # Signatures (SAML Core §5, XML-DSig)
    SIGNATURE_MISSING = "signature_missing"
    ASSERTION_SIGNATURE_MISSING = "assertion_signature_missing"
    MULTIPLE_SIGNATURES = "multiple_signatures"
    SIGNATURE_MALFORMED = "signature_malformed"
    SIGNATURE_REFERENCE_MISMATCH = "signature_reference_mismatch"
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
    SHA1_FORBIDDEN = "sha1_forbidden"
    DIGEST_MISMATCH = "digest_mismatch"
    SIGNATURE_INVALID = "signature_invalid"
    # Encryption (SAML Core §2.3.4, XML-Enc)
    DECRYPTION_KEY_MISSING = "decryption_key_missing"
    DECRYPTION_FAILED = "decryption_failed"
    UNSUPPORTED_ENCRYPTION_ALGORITHM = "unsupported_encryption_algorithm"
    # Semantic checks (SAML Core §2, Profiles §4.1.4)
    ISSUER_MISMATCH = "issuer_mismatch"
    ISSUER_MISSING = "issuer_missing"
    DESTINATION_MISMATCH = "destination_mismatch"
    DESTINATION_MISSING = "destination_missing"
    IN_RESPONSE_TO_MISMATCH = "in_response_to_mismatch"
    UNSOLICITED_RESPONSE = "unsolicited_response"
    SUBJECT_MISSING = "subject_missing"
    NAMEID_MISSING = "nameid_missing"
    NAMEID_MALFORMED = "nameid_malformed"
    NO_BEARER_CONFIRMATION = "no_bearer_confirmation"
    RECIPIENT_MISMATCH = "recipient_mismatch"
    SUBJECT_CONFIRMATION_EXPIRED = "subject_confirmation_expired"
    SUBJECT_CONFIRMATION_NOT_YET_VALID = "subject_confirmation_not_yet_valid"
    CONDITIONS_MISSING = "conditions_missing"
    ASSERTION_EXPIRED = "assertion_expired"
    ASSERTION_NOT_YET_VALID = "assertion_not_yet_valid"
    AUDIENCE_MISMATCH = "audience_mismatch"
    UNKNOWN_CONDITION = "unknown_condition"
    AUTHN_STATEMENT_MISSING = "authn_statement_missing"
    SESSION_EXPIRED = "session_expired"
    # Metadata / other messages
    METADATA_INVALID = "metadata_invalid"
    MESSAGE_INVALID = "message_invalid"


_STAGES: Final[dict[str, tuple[Reason, ...]]] = {
    "transport": (Reason.MALFORMED_BASE64, Reason.TOO_LARGE),
    "xml": (Reason.MALFORMED_XML, Reason.UNSUPPORTED_ENCODING, Reason.DOCTYPE_FORBIDDEN),
    "structure": (
        Reason.NOT_A_RESPONSE,
        Reason.UNSUPPORTED_VERSION,
        Reason.DUPLICATE_ID,
        Reason.MISSING_ID,
        Reason.MALFORMED_TIME,
        Reason.NO_ASSERTION,
        Reason.ASSERTION_NOT_ENCRYPTED,
        Reason.MULTIPLE_ASSERTIONS,
        Reason.UNEXPECTED_CONTENT,
    ),
    "status": (Reason.STATUS_NOT_SUCCESS,),
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
    ),
    "decryption": (
        Reason.DECRYPTION_KEY_MISSING,
        Reason.DECRYPTION_FAILED,
        Reason.UNSUPPORTED_ENCRYPTION_ALGORITHM,
    ),
    "issuer": (Reason.ISSUER_MISMATCH, Reason.ISSUER_MISSING),
    "destination": (Reason.DESTINATION_MISMATCH, Reason.DESTINATION_MISSING),
    "in_response_to": (Reason.IN_RESPONSE_TO_MISMATCH, Reason.UNSOLICITED_RESPONSE),
    "subject": (
        Reason.SUBJECT_MISSING,
        Reason.NAMEID_MISSING,
        Reason.NAMEID_MALFORMED,
        Reason.NO_BEARER_CONFIRMATION,
        Reason.RECIPIENT_MISMATCH,
        Reason.SUBJECT_CONFIRMATION_EXPIRED,
        Reason.SUBJECT_CONFIRMATION_NOT_YET_VALID,
    ),
    "conditions": (
        Reason.CONDITIONS_MISSING,
        Reason.ASSERTION_EXPIRED,
        Reason.ASSERTION_NOT_YET_VALID,
        Reason.AUDIENCE_MISMATCH,
        Reason.UNKNOWN_CONDITION,
    ),
    "authn_statement": (Reason.AUTHN_STATEMENT_MISSING, Reason.SESSION_EXPIRED),
    "metadata": (Reason.METADATA_INVALID,),
    "message": (Reason.MESSAGE_INVALID,),
}
STAGE: Final[dict[Reason, str]] = {r: stage for stage, rs in _STAGES.items() for r in rs}
"""The processing stage each reason belongs to (every reason has one)."""


def bounded(value: Detail) -> Detail:
    """``value`` cut to :data:`MAX_DETAIL_CHARS` per string, :data:`MAX_DETAIL_ITEMS` items."""
    if isinstance(value, str):
        return value[:MAX_DETAIL_CHARS]
    if isinstance(value, list):
        return [str(v)[:MAX_DETAIL_CHARS] for v in value[:MAX_DETAIL_ITEMS]]
    return value


class SamlValidationError(Exception):
    """A SAML message was refused.

    Attributes:
        reason: the exact rule that failed.
        detail: free-form context for logs (may contain untrusted input).
        details: structured facts for an administrator (see the module doc), bounded.
    """

    def __init__(self, reason: Reason, detail: str = "", **details: Detail | None) -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail
        self.details: dict[str, Detail] = {}
        self.add(details)

    @property
    def stage(self) -> str:
        """The named stage of processing that refused the message."""
        return STAGE[self.reason]

    def add(self, details: Mapping[str, Detail | None]) -> None:
        """Add facts (``None`` values are left out; a fact already given is kept)."""
        for key, value in details.items():
            if value is not None and key not in self.details:
                self.details[key] = bounded(value)
