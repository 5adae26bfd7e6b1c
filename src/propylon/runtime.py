"""The runtime: settings, database, accelerator, session store and clock, built once and
passed explicitly."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from propylon.audit.auth_failures import AuthFailures
from propylon.audit.buffer import AuditBuffer
from propylon.cache.base import Accelerator, BackoffPolicy
from propylon.cache.copies import LocalCopies
from propylon.cache.fanout import FanoutHealth
from propylon.cache.local import LocalAccelerator
from propylon.cache.redis import RedisAccelerator
from propylon.crypto.keyfile import load_secret_box
from propylon.crypto.secretbox import SecretBox
from propylon.db.engine import Database
from propylon.delivery.model import Renderer
from propylon.directory.events import EventBus
from propylon.directory.scope_cache import ScopeCache
from propylon.feed.model import FeedHook
from propylon.feed.process import Feed
from propylon.mail import Mailer, mailer_from
from propylon.oauth_store.signing_keys import SigningKeyCache
from propylon.oidc.discovery import ProviderCache
from propylon.outbound import GuardedFetcher, OutboundPolicy
from propylon.owner_only import secure_dir
from propylon.passwords.argon2id import PasswordHashing
from propylon.passwords.throttle import Throttle
from propylon.provider.models import Client
from propylon.sessions.pending_cookie import PendingLoginSeal
from propylon.sessions.store import SessionStore
from propylon.sessions.store_db import DatabaseSessionStore
from propylon.sessions.store_redis import RedisSessionStore
from propylon.settings import Settings
from propylon.signals.hook import SignalsHook
from propylon.signals.renderers import BackchannelLogoutRenderer, SsfRenderer
from propylon.tenants.login_routes import LoginRoute
from propylon.tenants.saml_connections import ConnectionRecord
from propylon.tenants.saml_keys_cache import SamlKeyCache
from propylon.testidp.keys import TestIdpKeyCache
from propylon.webhooks.hook import WebhookRenderer, feed_hook

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
    def build(
        cls, ttl_seconds: float, enabled: bool, health: FanoutHealth | None = None
    ) -> SignInCopies:
        return cls(
            LocalCopies(ttl_seconds, enabled, health=health),
            LocalCopies(ttl_seconds, enabled, health=health),
            LocalCopies(ttl_seconds, enabled, health=health),
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
    secret_box: SecretBox
    """Seals private keys and secrets at rest (``crypto/secretbox.py``)."""
    sessions: SessionStore = field(default_factory=DatabaseSessionStore)
    """Sign-in sessions: the database in the embedded mode, Redis in production mode."""
    clock: Callable[[], datetime] = field(default=utcnow)
    events: EventBus = field(default_factory=EventBus)
    feed_hooks: list[FeedHook] = field(default_factory=list)
    """Run by the feed's sequencer inside its transaction with each numbered batch
    (``feed/model.py``); ``build_runtime`` appends the webhook and signal hooks."""
    delivery_renderers: dict[str, Renderer] = field(default_factory=dict)
    """How the delivery worker builds each kind's request (``delivery/model.py``), by kind;
    ``build_runtime`` registers the webhook renderer, SIGNALS its own."""
    scope_cache: ScopeCache = field(default_factory=lambda: ScopeCache(0, enabled=False))
    sign_in: SignInCopies = field(default_factory=lambda: SignInCopies.build(0, enabled=False))
    audit_buffer: AuditBuffer | None = None
    fanout_health: FanoutHealth | None = None
    """Whether this process's copies are trusted (only while the Redis listener is
    subscribed; ``None`` without Redis, where copies are off)."""
    signing_keys: SigningKeyCache = field(init=False)
    """The parsed token signing key, re-read every few seconds (``oauth_store/signing_keys.py``)."""
    saml_keys: SamlKeyCache = field(init=False)
    """Parsed SP keys and pinned IdP certificates, by stored value."""
    pending_logins: PendingLoginSeal = field(
        default_factory=lambda: PendingLoginSeal(lambda: [secrets.token_bytes(32)])
    )
    """Seals the cookie a pending SAML login is kept in, under a subkey of ``secret_box``."""
    auth_failures: AuthFailures = field(init=False)
    """Failed authentication per client address: the limit and its aggregated audit."""
    mailer: Mailer = field(init=False)
    """Outgoing mail: files under ``<data_dir>/mail``, or SMTP (``mail/``)."""
    password_hashing: PasswordHashing = field(init=False)
    """argon2id at the configured parameters (``passwords/argon2id.py``)."""
    password_throttle: Throttle = field(init=False)
    """Growing delays on wrong passwords per account and address (``passwords/throttle.py``)."""
    outbound: OutboundPolicy = field(init=False)
    """What every outbound request may reach (``outbound/``), from the settings."""
    oidc_providers: ProviderCache = field(init=False)
    """OpenID Providers' metadata and JWK Sets (``oidc/discovery.py``), fetched through
    ``outbound``."""
    test_idp_keys: TestIdpKeyCache = field(init=False)
    """The built-in test IdP's signing keys, read (or made) once per process (``testidp/``)."""
    feed: Feed = field(init=False)
    """The event feed in this process (``feed/``): sequencer (running ``feed_hooks``),
    follower of the stream clients, retention purge; the server starts its loops."""

    def __post_init__(self) -> None:
        self.signing_keys = SigningKeyCache(self.secret_box, health=self.fanout_health)
        self.saml_keys = SamlKeyCache(self.secret_box)
        self.test_idp_keys = TestIdpKeyCache(self.db, self.secret_box)
        self.outbound = OutboundPolicy.from_settings(self.settings)
        fetch = GuardedFetcher(self.outbound)
        self.oidc_providers = ProviderCache.from_settings(
            fetch, lambda: self.clock(), self.settings
        )
        self.auth_failures = AuthFailures(
            self.cache,
            self.audit_buffer or AuditBuffer(self.db),
            limit=self.settings.auth_failure_rate_limit_per_minute,
            max_addresses=self.settings.auth_failure_audit_max_addresses,
        )
        st = self.settings
        self.mailer = mailer_from(st)
        self.password_hashing = PasswordHashing(
            st.password_argon2_memory_kib,
            st.password_argon2_time_cost,
            st.password_argon2_parallelism,
        )
        backoff = {
            "base": st.password_backoff_base_seconds,
            "cap": st.password_backoff_max_seconds,
            "memory": st.password_failure_memory_seconds,
        }
        self.feed = Feed(
            self.db,
            self.feed_hooks,
            lambda: self.clock(),
            self.cache.publish,
            poll_seconds=st.feed_poll_seconds,
            batch_size=st.feed_batch_size,
            retention=timedelta(days=st.events_retention_days),
            retry_max_seconds=st.background_retry_max_seconds,
            heartbeat_seconds=st.events_stream_heartbeat_seconds,
        )
        self.password_throttle = Throttle(
            self.cache,
            account=BackoffPolicy(free=st.password_free_failures, **backoff),
            address=BackoffPolicy(free=st.password_address_free_failures, **backoff),
        )

    async def close(self) -> None:
        self.auth_failures.roll()  # the summaries so far, for the writer's last flush
        if self.audit_buffer is not None:
            await self.audit_buffer.stop()
        await self.cache.close()
        await self.db.dispose()


def build_runtime(settings: Settings) -> Runtime:
    if not settings.database_url:  # the embedded database lives in the data directory
        secure_dir(settings.data_dir)
    box = load_secret_box(settings.secret_key.get_secret_value(), settings.data_dir)
    db = Database(
        settings.resolved_database_url(),
        pool_size=settings.db_pool_size,
        sqlite_synchronous=settings.sqlite_synchronous,
    )
    lifetime = timedelta(seconds=settings.session_lifetime_seconds)
    cache: Accelerator
    sessions: SessionStore
    health: FanoutHealth | None = None  # copies are trusted only while the listener is subscribed
    if settings.redis_url:
        redis = RedisAccelerator(
            settings.redis_url,
            settings.redis_prefix,
            timeout=settings.redis_timeout_seconds,
            retry_max_seconds=settings.background_retry_max_seconds,
        )
        cache, sessions = redis, RedisSessionStore(redis.client, settings.redis_prefix, lifetime)
        health = redis.health
    else:
        cache, sessions = LocalAccelerator(db), DatabaseSessionStore(lifetime)
    rt = Runtime(
        settings=settings,
        db=db,
        cache=cache,
        secret_box=box,
        sessions=sessions,
        scope_cache=ScopeCache(settings.scim_scope_cache_seconds, cache.fanout, health),
        sign_in=SignInCopies.build(settings.sign_in_cache_seconds, cache.fanout, health),
        audit_buffer=AuditBuffer(db, retry_max_seconds=settings.background_retry_max_seconds),
        fanout_health=health,
        # the pending sign-in cookie's key: a subkey of the key sealing secrets at rest
        pending_logins=PendingLoginSeal(lambda: box.subkeys("pending-sign-in-cookie")),
    )
    rt.feed_hooks.append(feed_hook())
    webhooks = WebhookRenderer(box)
    rt.delivery_renderers[webhooks.kind] = webhooks
    install_signals(rt)
    return rt


def install_signals(rt: Runtime) -> None:
    """Back-channel logout and Shared Signals (``signals/``): their feed hook and renderers."""
    st = rt.settings
    rt.feed_hooks.append(SignalsHook(st.public_url))
    logout = BackchannelLogoutRenderer(
        st.public_url,
        st.signing_alg,
        st.backchannel_logout_token_lifetime_seconds,
        rt.signing_keys,
    )
    ssf = SsfRenderer(st.public_url, st.signing_alg, rt.signing_keys, rt.secret_box)
    rt.delivery_renderers[logout.kind] = logout
    rt.delivery_renderers[ssf.kind] = ssf
