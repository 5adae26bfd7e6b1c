"""Typed failures of SAML processing.

Every refusal raised by :mod:`propylon.saml` is a :class:`SamlValidationError`
whose :attr:`~SamlValidationError.reason` is one :class:`Reason` member naming
the exact rule that failed. ``detail`` is a human-readable hint for logs; it may
quote attacker-controlled values and must never be shown as trusted data.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Reason", "SamlValidationError"]


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


class SamlValidationError(Exception):
    """A SAML message was refused.

    Attributes:
        reason: the exact rule that failed.
        detail: free-form context for logs (may contain untrusted input).
    """

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail
