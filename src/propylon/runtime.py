"""The runtime: settings, database, accelerator, session store and clock, built once and
passed explicitly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from propylon.audit.buffer import AuditBuffer
from propylon.cache.base import Accelerator
from propylon.cache.copies import LocalCopies
from propylon.cache.local import LocalAccelerator
from propylon.cache.redis import RedisAccelerator
from propylon.db.engine import Database
from propylon.directory.events import EventBus
from propylon.provider.keys import SigningKeyCache
from propylon.provider.login import LoginRoute
from propylon.provider.models import Client
from propylon.sessions.saml_keys_cache import SamlKeyCache
from propylon.sessions.store import SessionStore
from propylon.sessions.store_db import DatabaseSessionStore
from propylon.sessions.store_redis import RedisSessionStore
from propylon.settings import Settings
from propylon.tenants.saml_connections import ConnectionRecord
from propylon.tenants.scope_cache import ScopeCache

SIGN_IN_CHANNEL = "sign-in-config"
"""Published after an app or a SAML connection changed (what is created needs nothing: a
miss is never kept)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class SignInCopies:
    """Per-process copies (``cache/copies.py``) of what a sign-in reads on every request:
    apps by client id, login routes that lead to a connection, and SAML connections for
    starting a login. Whoever changes an app or a connection (an app revoked, metadata
    refreshed) publishes :data:`SIGN_IN_CHANNEL`. The ACS never uses a copy: it checks a Response
    against the connection's pinned certificates as stored at that moment."""

    clients: LocalCopies[str, Client]
    routes: LocalCopies[tuple[str, str], LoginRoute]
    connections: LocalCopies[str, ConnectionRecord]

    @classmethod
    def build(cls, ttl_seconds: float, enabled: bool) -> SignInCopies:
        return cls(
            LocalCopies(ttl_seconds, enabled),
            LocalCopies(ttl_seconds, enabled),
            LocalCopies(ttl_seconds, enabled),
        )

    async def on_message(self, _message: str) -> None:
        self.clients.clear()
        self.routes.clear()
        self.connections.clear()


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
    sign_in: SignInCopies = field(default_factory=lambda: SignInCopies.build(0, enabled=False))
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
    db = Database(
        settings.resolved_database_url(),
        pool_size=settings.db_pool_size,
        sqlite_synchronous=settings.sqlite_synchronous,
    )
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
        sign_in=SignInCopies.build(settings.sign_in_cache_seconds, enabled=cache.fanout),
        audit_buffer=AuditBuffer(db),
    )
