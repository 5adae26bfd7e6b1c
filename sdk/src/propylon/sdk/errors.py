"""The SDK's errors. A refused token is always :class:`InvalidToken` with a stable ``reason``;
the HTTP adapters answer 401 with it (RFC 6750 §3.1 ``invalid_token``)."""

from __future__ import annotations


class PropylonError(Exception):
    """Anything the SDK raises."""


class InvalidToken(PropylonError):
    """The access token is not accepted. ``reason`` is one of: ``malformed``, ``algorithm``,
    ``unknown_key``, ``bad_signature``, ``typ``, ``issuer``, ``audience``, ``expired``,
    ``not_yet_valid``, ``lifetime``, ``claims``, ``session_revoked``, ``grant_revoked``,
    ``user_revoked``, ``tenant_revoked``, ``connection_revoked``, ``inactive`` (introspection
    said so), ``unverifiable`` (the local view is stale and introspection could not answer:
    refused rather than honoured)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WebhookVerificationError(PropylonError):
    """A webhook whose signature, id or timestamp does not verify (Standard Webhooks)."""


class ApiError(PropylonError):
    """The management API answered with an RFC 9457 problem document."""

    def __init__(self, status: int, problem: dict[str, object]) -> None:
        super().__init__(f"{status}: {problem.get('detail') or problem.get('title')}")
        self.status = status
        self.problem = problem
