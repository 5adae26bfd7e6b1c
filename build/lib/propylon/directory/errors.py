"""Directory-specific domain errors, on top of :mod:`propylon.errors`."""

from __future__ import annotations

from propylon.errors import AlreadyExists, InvalidInput, NotFound, PropylonError

__all__ = [
    "AlreadyExists",
    "InvalidInput",
    "InvalidMember",
    "InvalidQuery",
    "NotFound",
    "SeatLimitReached",
]


class SeatLimitReached(PropylonError):
    """Activating one more user would pass the tenant's licence seats."""


class InvalidQuery(InvalidInput):
    """A filter or sort the directory cannot evaluate (SCIM answers ``invalidFilter``)."""


class InvalidMember(InvalidInput):
    """A group member id names no user or group of this directory."""
