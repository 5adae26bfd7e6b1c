"""Timestamps as RFC 3339 ``date-time`` (§5.6) in UTC with ``Z``: the one format of every
time in events (``docs/events.md``), their envelopes and payloads."""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(moment: datetime) -> str:
    """``moment`` as an RFC 3339 ``date-time`` in UTC with a ``Z`` (naive values are UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def rfc3339_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else rfc3339(moment)
