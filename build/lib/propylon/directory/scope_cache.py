"""A per-process cache of SCIM token → directory scope, so a request skips the token lookup.

Kept as :class:`~propylon.cache.copies.LocalCopies` (only with Redis): rotating or revoking a
token and changing a tenant's seats publish ``scim-scopes``, and every process drops its
cache at once. Entries also expire after ``ttl`` seconds and never outlive the token, and none
is served while the fan-out is disconnected (``health``, see ``cache/fanout.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from propylon.cache.copies import LocalCopies
from propylon.cache.fanout import FanoutHealth
from propylon.directory.scope import DirectoryScope

CHANNEL = "scim-scopes"


@dataclass(frozen=True)
class _Entry:
    scope: DirectoryScope
    token_expires_at: datetime | None


class ScopeCache:
    def __init__(
        self, ttl_seconds: float, enabled: bool, health: FanoutHealth | None = None
    ) -> None:
        self._copies: LocalCopies[str, _Entry] = LocalCopies(ttl_seconds, enabled, health=health)

    @property
    def enabled(self) -> bool:
        return self._copies.enabled

    def get(self, token_hash: str, now: datetime) -> DirectoryScope | None:
        entry = self._copies.get(token_hash)
        if entry is None:
            return None
        if entry.token_expires_at is not None and entry.token_expires_at <= now:
            self._copies.drop(token_hash)
            return None
        return entry.scope

    def put(
        self, token_hash: str, scope: DirectoryScope, token_expires_at: datetime | None
    ) -> None:
        self._copies.put(token_hash, _Entry(scope, token_expires_at))

    def clear(self) -> None:
        self._copies.clear()

    async def on_message(self, message: str) -> None:
        await self._copies.on_message(message)
