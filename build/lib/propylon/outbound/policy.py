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
    """Plain ``http`` to any host; ``None`` (what the settings give): only to a host whose
    every address is inside, and only with ``allow_private``."""

    @property
    def http_allowed(self) -> bool:
        """Plain ``http`` to some host (an inside one, at least)."""
        return self.allow_private if self.allow_http is None else self.allow_http

    def http_allowed_to(self, public: bool) -> bool:
        """Plain ``http`` to a host that has a public address (``public``) or has none:
        across a public network anyone on the path could read or forge the answer."""
        return self.http_allowed and (self.allow_http is True or not public)

    @classmethod
    def from_settings(cls, settings: Settings) -> OutboundPolicy:
        return cls(
            allow_private=settings.outbound_allow_private_hosts,
            timeout_seconds=settings.outbound_timeout_seconds,
            max_bytes=settings.outbound_max_bytes,
        )
