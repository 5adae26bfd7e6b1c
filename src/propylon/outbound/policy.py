"""What an outbound request may reach, and how much of it and for how long."""

from __future__ import annotations

from dataclasses import dataclass

from propylon.settings import Settings


@dataclass(frozen=True)
class OutboundPolicy:
    """The guard's limits. ``allow_private`` lets loopback, private and link-local addresses
    through and, unless ``allow_http`` says otherwise, plain ``http`` too (an IdP on the
    operator's own network, and the tests' loopback servers)."""

    allow_private: bool = False
    timeout_seconds: float = 10.0
    """Bound on the whole request, every redirect hop and name resolution included."""
    max_bytes: int = 4 * 1024 * 1024
    """Bound on a response body, enforced while it is read."""
    max_redirects: int = 3
    allow_http: bool | None = None
    """Plain ``http``; ``None`` follows ``allow_private``."""

    @property
    def http_allowed(self) -> bool:
        return self.allow_private if self.allow_http is None else self.allow_http

    @classmethod
    def from_settings(cls, settings: Settings) -> OutboundPolicy:
        return cls(
            allow_private=settings.outbound_allow_private_hosts,
            timeout_seconds=settings.outbound_timeout_seconds,
            max_bytes=settings.outbound_max_bytes,
        )
