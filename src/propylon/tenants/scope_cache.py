"""A per-process cache of SCIM token → directory scope, so a request skips the token lookup.

Only on with an accelerator that fans out to every process (Redis): rotating or revoking a
token and changing a tenant's seats publish ``scim-scopes``, and every process drops its
cache at once. Entries also expire after ``ttl`` seconds and never outlive the token.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from propylon.tenants.directories import DirectoryScope

CHANNEL = "scim-scopes"
_MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class _Entry:
    scope: DirectoryScope
    token_expires_at: datetime | None
    cached_until: float


class ScopeCache:
    def __init__(self, ttl_seconds: float, enabled: bool) -> None:
        self.ttl = ttl_seconds
        self.enabled = enabled and ttl_seconds > 0
        self._entries: dict[str, _Entry] = {}

    def get(self, token_hash: str, now: datetime) -> DirectoryScope | None:
        entry = self._entries.get(token_hash) if self.enabled else None
        if entry is None:
            return None
        expired = entry.token_expires_at is not None and entry.token_expires_at <= now
        if expired or entry.cached_until <= time.monotonic():
            self._entries.pop(token_hash, None)
            return None
        return entry.scope

    def put(
        self, token_hash: str, scope: DirectoryScope, token_expires_at: datetime | None
    ) -> None:
        if not self.enabled:
            return
        if len(self._entries) >= _MAX_ENTRIES:
            self._entries.clear()
        self._entries[token_hash] = _Entry(scope, token_expires_at, time.monotonic() + self.ttl)

    def clear(self) -> None:
        self._entries.clear()

    async def on_message(self, _message: str) -> None:
        self.clear()
