"""The one error of the relying-party library: a stable ``reason`` per failure, so a caller
can audit it and tests can pin it, a human ``detail``, the ``stage`` it happened in and
facts worth keeping (never a token or a secret)."""

from __future__ import annotations

from typing import Any

from propylon.errors import PropylonError

REASONS = frozenset(
    {
        # the JWS itself (RFC 7515, Core §3.1.3.7 steps 6-8)
        "malformed",
        "too_large",
        "encrypted_unsupported",
        "alg_not_allowed",
        "crit_unsupported",
        "typ_mismatch",
        "unknown_kid",
        "key_mismatch",
        "signature_invalid",
        # claims (Core §3.1.3.7, Back-Channel Logout §2.6)
        "claim_missing",
        "issuer_mismatch",
        "audience_mismatch",
        "untrusted_audience",
        "azp_missing",
        "azp_mismatch",
        "expired",
        "issued_in_future",
        "not_yet_valid",
        "nonce_missing",
        "nonce_mismatch",
        "nonce_present",
        "auth_time_missing",
        "auth_too_old",
        "subject_invalid",
        "events_invalid",
        "subject_mismatch",
        # discovery, JWKS, authorization response, token and userinfo endpoints
        "discovery_failed",
        "metadata_invalid",
        "jwks_failed",
        "iss_missing",
        "token_error",
        "token_response_invalid",
        "userinfo_unavailable",
        "userinfo_failed",
        "userinfo_invalid",
    }
)


class OidcError(PropylonError):
    def __init__(
        self, reason: str, detail: str, stage: str = "", details: dict[str, Any] | None = None
    ) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown OIDC failure reason {reason!r}")
        super().__init__(detail)
        self.reason = reason
        self.stage = stage
        self.details = details or {}

    def __repr__(self) -> str:
        return f"OidcError({self.reason!r}, {self.detail!r}, stage={self.stage!r})"
