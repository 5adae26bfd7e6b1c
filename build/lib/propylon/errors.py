"""Domain errors shared by every service. Each protocol package maps them to its wire codes
once (SCIM error schema, OAuth error codes, JSON problem bodies, readable pages)."""

from __future__ import annotations


class PropylonError(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(PropylonError):
    """Nothing by that id in the caller's scope (never says whether it exists elsewhere)."""


class AlreadyExists(PropylonError):
    def __init__(self, detail: str, field: str) -> None:
        super().__init__(detail)
        self.field = field


class InvalidInput(PropylonError):
    """A value the caller sent is not acceptable."""


class Unauthenticated(PropylonError):
    """Missing, unknown, expired or revoked credential."""
