"""The runtime: settings, database, accelerator, session store and clock, built once and
passed explicitly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from propylon.audit.buffer import AuditBuffer
from propylon.cache.base import Accelerator
from propylon.cache.local import LocalAccelerator
from propylon.cache.redis import RedisAccelerator
from propylon.db.engine import Database
from propylon.directory.events import EventBus
from propylon.provider.keys import SigningKeyCache
from propylon.sessions.saml_keys_cache import SamlKeyCache
from propylon.sessions.store import SessionStore
from propylon.sessions.store_db import DatabaseSessionStore
from propylon.sessions.store_redis import RedisSessionStore
from propylon.settings import Settings
from propylon.tenants.scope_cache import ScopeCache


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    cache: Accelerator
    sessions: SessionStore = field(default_factory=DatabaseSessionStore)
    """Sign-in sessions: the database in the embedded mode, Redis in production mode."""
    clock: Callable[[], datetime] = field(default=utcnow)
    events: EventBus = field(default_factory=EventBus)
    scope_cache: ScopeCache = field(default_factory=lambda: ScopeCache(0, enabled=False))
    audit_buffer: AuditBuffer | None = None
    signing_keys: SigningKeyCache = field(default_factory=SigningKeyCache)
    """The parsed token signing key, re-read every few seconds (``provider/keys.py``)."""
    saml_keys: SamlKeyCache = field(default_factory=SamlKeyCache)
    """Parsed SP keys and pinned IdP certificates, by stored value."""

    async def close(self) -> None:
        if self.audit_buffer is not None:
            await self.audit_buffer.stop()
        await self.cache.close()
        await self.db.dispose()


def build_runtime(settings: Settings) -> Runtime:
    db = Database(settings.resolved_database_url(), pool_size=settings.db_pool_size)
    lifetime = timedelta(seconds=settings.session_lifetime_seconds)
    cache: Accelerator
    sessions: SessionStore
    if settings.redis_url:
        redis = RedisAccelerator(settings.redis_url, settings.redis_prefix)
        cache, sessions = redis, RedisSessionStore(redis.client, settings.redis_prefix, lifetime)
    else:
        cache, sessions = LocalAccelerator(db), DatabaseSessionStore(lifetime)
    return Runtime(
        settings=settings,
        db=db,
        cache=cache,
        sessions=sessions,
        scope_cache=ScopeCache(settings.scim_scope_cache_seconds, enabled=cache.fanout),
        audit_buffer=AuditBuffer(db),
    )
