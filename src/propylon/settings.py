"""Typed settings read from ``PROPYLON_*`` environment variables.

Every security-relevant choice is an explicit setting with a safe default; the README lists them.
One :class:`Settings` object is built at startup (``cli`` or ``api.app``) and injected, never
imported as a global.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import re
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=16)
def parse_networks(spec: str) -> tuple[Network, ...]:
    """``"10.0.0.0/8, 127.0.0.1"`` → networks; a bare address is a /32 or /128."""
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip()
    )


def _default_data_dir() -> Path:
    """The per-user data directory (XDG Base Directory): ``$XDG_DATA_HOME/propylon``, else
    ``~/.local/share/propylon``, so the CLI and the server find the same database wherever
    they are run from."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "propylon"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROPYLON_", extra="ignore", populate_by_name=True)

    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str = ""
    """SQLAlchemy async URL. Empty means the embedded SQLite file ``<data_dir>/propylon.db``."""
    redis_url: str = ""
    """Empty means the embedded in-process accelerator (single process only)."""
    redis_prefix: str = "propylon:"
    redis_timeout_seconds: float = 2.0
    """Bound on connecting to Redis and on each reply: a Redis that is down or unreachable
    fails a request fast (503 with ``Retry-After``) instead of holding it."""
    background_retry_max_seconds: float = 5.0
    """Cap of the exponential backoff (with jitter) of background tasks that lost a peer: the
    fan-out listener reconnecting to Redis, the audit flusher and the metadata refresher."""
    public_url: str = "http://127.0.0.1:8000"
    """Externally visible base URL; SCIM base URLs, ACS URLs and issuer derive from it."""

    # Outbound requests (``outbound/``: OIDC discovery, JWKS, token, userinfo, SAML metadata)
    outbound_allow_private_hosts: bool = Field(
        default=False,
        validation_alias=AliasChoices(
            "PROPYLON_OUTBOUND_ALLOW_PRIVATE_HOSTS", "PROPYLON_SAML_METADATA_ALLOW_PRIVATE_HOSTS"
        ),
    )
    """Let outbound requests reach loopback, private and link-local addresses, and plain http
    (an IdP on your own network). Off: such a URL is refused, so it cannot be used to read
    inside the network. ``PROPYLON_SAML_METADATA_ALLOW_PRIVATE_HOSTS`` is an older name."""
    outbound_timeout_seconds: float = Field(default=10.0, gt=0)
    """Bound on one outbound request, redirects and name resolution included."""
    outbound_max_bytes: int = Field(default=4 * 1024 * 1024, ge=1)
    """Bound on an outbound response's body."""

    # Delivery queue (``delivery/``: webhooks, back-channel logout, Shared Signals)
    delivery_worker_enabled: bool = True
    """Run the delivery worker in this process (every process may: items are claimed with
    ``FOR UPDATE SKIP LOCKED`` and a lease)."""
    delivery_poll_seconds: float = Field(default=0.25, gt=0)
    """How often the worker looks for due items when nothing woke it."""
    delivery_concurrency: int = Field(default=16, ge=1)
    """Requests in flight per process (one per ordering key at most)."""
    delivery_lease_seconds: float = Field(default=60.0, gt=0)
    """How long a claimed item is reserved for its worker; a worker that died mid-delivery
    frees it after this (at-least-once). Longer than ``PROPYLON_OUTBOUND_TIMEOUT_SECONDS``."""
    delivery_retry_base_seconds: float = Field(default=5.0, gt=0)
    """First retry delay; doubled at each failure, with jitter (half to all of it)."""
    delivery_retry_max_interval_seconds: float = Field(default=3600.0, gt=0)
    """Cap of one retry delay."""
    delivery_retry_for_seconds: float = Field(default=259200.0, gt=0)
    """How long a failing item is retried (default three days) before it is dead-lettered."""
    delivery_retention_seconds: int = Field(default=7 * 86400, ge=0)
    """Delivered and dropped items and their attempts are purged after this; dead ones stay
    until replayed or deleted. 0 keeps them."""
    webhook_secret_grace_seconds: int = Field(default=86400, ge=0)
    """After ``rotate-secret``, how long the previous secret keeps signing too (both
    signatures are sent) so receivers can switch."""

    # OpenID Connect relying party (``oidc/``)
    oidc_metadata_cache_seconds: int = Field(default=3600, ge=0)
    """How long an IdP's discovery document and JWK Set are kept before they are read again."""
    oidc_jwks_refetch_min_interval_seconds: int = Field(default=60, ge=0)
    """A token naming an unknown ``kid`` makes the JWK Set be read again at once, at most
    this often per issuer."""
    oidc_allowed_algorithms: str = "RS256,RS384,RS512,PS256,PS384,PS512,ES256,ES384,ES512,EdDSA"
    """Comma-separated JWS algorithms accepted on ID and logout tokens: asymmetric only."""
    oidc_clock_skew_seconds: int = Field(default=60, ge=0, le=600)
    """Tolerance on ``exp``, ``iat`` and ``nbf`` of ID and logout tokens."""
    oidc_max_token_bytes: int = Field(default=65_536, ge=1024)
    """Larger ID or logout tokens are refused before anything is decoded."""

    @field_validator("oidc_allowed_algorithms")
    @classmethod
    def _asymmetric_only(cls, value: str) -> str:
        names = [a.strip() for a in value.split(",") if a.strip()]
        weak = [a for a in names if a.lower() == "none" or a.upper().startswith("HS")]
        if weak or not names:
            raise ValueError(f"only asymmetric JWS algorithms may be allowed, not {weak}")
        return ",".join(names)

    def oidc_algorithms(self) -> frozenset[str]:
        return frozenset(self.oidc_allowed_algorithms.split(","))

    # SCIM
    scim_max_body_bytes: int = 1_048_576
    scim_max_results: int = 1000
    scim_default_page_size: int = 100
    scim_rate_limit_per_minute: int = 60_000
    """Requests per minute per SCIM token; an IdP's bulk push stays far below the default."""
    scim_token_grace_seconds: int = 86_400
    """After ``scim rotate-token`` the previous token keeps working this long."""
    scim_filter_max_length: int = 8192
    """Longest SCIM filter (characters) a list, ``.search`` or PATCH path may carry."""
    scim_filter_max_depth: int = 32
    """Deepest nesting of a SCIM filter (parentheses, ``not``, ``[...]``, ``and`` in ``or``)."""
    scim_filter_max_terms: int = 256
    """Most comparisons and presence tests in one SCIM filter."""
    api_rate_limit_per_minute: int = 60_000
    scim_scope_cache_seconds: float = 30.0
    """Per-process cache of token → directory (only with Redis, whose fan-out clears it in
    every process the moment a token is rotated or revoked)."""
    sign_in_cache_seconds: float = 30.0
    """Per-process copies of apps, login routes and SAML connections read by every sign-in
    (only with Redis, whose fan-out clears them in every process when one is created or
    changed). Never used to check a SAML Response: the ACS reads the pinned certificates."""

    sign_in_start_rate_limit_per_minute: int = 60
    """Sign-ins started (a browser sent to an IdP) per minute per client address; past it a
    page with 429 and ``Retry-After``. A start writes nothing on the server, this bounds the
    signing work and the IdP traffic one address can cause."""
    sign_in_finish_rate_limit_per_minute: int = 60
    """Responses posted to a SAML ACS per minute per client address; past it a page with 429
    and ``Retry-After``, before the Response is read (so the refusals an attacker can cause,
    each audited, are bounded too)."""
    auth_failure_rate_limit_per_minute: int = Field(default=30, ge=1)
    """Failed authentications (SCIM token, management API key, OAuth client at the token,
    introspection and revocation endpoints) per client address over the current and the
    previous minute; past it the address gets 429 with ``Retry-After`` until the minute ends,
    before any database work (``audit/auth_failures.py``)."""
    client_ipv6_prefix: int = Field(default=64, ge=0, le=128)
    """Every per-address limit (failed authentication, sign-in starts, ACS posts) counts an
    IPv6 client by its network of this many bits (one host usually has a whole /64):
    ``api/client_address.py client_key``."""
    auth_failure_audit_max_addresses: int = Field(default=1000, ge=1)
    """Addresses per minute and process whose failed authentications get audit entries of
    their own (the first failure, then a summary); the rest share one entry."""

    trusted_proxies: str = ""
    """Comma-separated addresses or CIDR networks of reverse proxies whose ``X-Forwarded-For``
    is believed (``api/client_address.py``). Empty: the TCP peer is the client address that
    per-address rate limits and the audit trail use."""

    secret_key: SecretStr = SecretStr("")
    """Key-encryption key(s) sealing private keys and secrets at rest (``crypto/secretbox.py``):
    base64 or base64url of 32 random bytes; several comma-separated during a rotation (the
    first seals, all open; ``propylon secrets rotate`` re-seals under the first). Other keys
    derive from it (HKDF): the cookie a pending sign-in is kept in. Empty: a key
    file ``<data_dir>/secret.key`` made on first start (owner-only), which every process and
    host using the database must share: set this instead when several hosts do."""

    # Password accounts (NIST SP 800-63B §5.1.1.2; argon2id per RFC 9106 and OWASP)
    password_argon2_memory_kib: int = Field(default=19_456, ge=19_456)
    """argon2id memory per hash in KiB (OWASP's minimum: 19 MiB); raising it rehashes each
    password at its next sign-in."""
    password_argon2_time_cost: int = Field(default=2, ge=2)
    password_argon2_parallelism: int = Field(default=1, ge=1)
    password_min_length: int = Field(default=8, ge=8)
    """Shortest password accepted, in characters after NFKC normalisation."""
    password_max_length: int = Field(default=256, ge=64)
    """Longest password accepted (a bound on hashing work, never below 64)."""
    password_verify_link_lifetime_seconds: int = Field(default=86_400, ge=60)
    password_reset_link_lifetime_seconds: int = Field(default=3_600, ge=60)
    password_free_failures: int = Field(default=5, ge=1)
    """Wrong passwords per account before each further failure imposes a delay."""
    password_address_free_failures: int = Field(default=20, ge=1)
    """Wrong passwords per client address before each further failure imposes a delay."""
    password_backoff_base_seconds: int = Field(default=2, ge=1)
    """The first delay; each further failure doubles it, up to the cap."""
    password_backoff_max_seconds: int = Field(default=900, ge=1)
    """Cap of the delay: no one can keep an account locked for longer than this at once."""
    password_failure_memory_seconds: int = Field(default=3_600, ge=60)
    """Failures are forgotten this long after the last one (and at a successful sign-in)."""
    password_mails_per_address_per_hour: int = Field(default=5, ge=1)
    """Sign-up and reset mails sent to one email address per hour."""
    password_sign_in_rate_limit_per_minute: int = Field(default=60, ge=1)
    """Password attempts (sign-in, change, a sign-up link opened elsewhere) per client address
    per minute, counted before any is verified: a burst of parallel guesses cannot slip past
    the delays, nor make the server hash without end (429 past it)."""
    password_sign_up_rate_limit_per_minute: int = Field(default=10, ge=1)
    """Sign-ups and reset requests per client address per minute (429 past it)."""

    # Operator console (/admin)
    console_session_idle_seconds: int = Field(default=1_800, ge=60)
    """A console session ends after this long without a request."""
    console_session_absolute_seconds: int = Field(default=43_200, ge=300)
    """A console session never outlives this, however busy."""
    console_sso_tenant: str = ""
    """Slug of the tenant whose SSO may sign operators in to the console through Propylon's
    own OpenID Provider; empty: password and TOTP only."""
    console_sso_role: str = "propylon-operator"
    """The entitlement role a person signing in by SSO must have to be admitted."""

    # Mail
    smtp_host: str = ""
    """Empty: mail is written to ``<data_dir>/mail/*.eml`` and logged (recipient and subject
    only). Set: sent through this SMTP server."""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = True
    """Upgrade to TLS (RFC 3207) before authenticating; refused if the server cannot."""
    smtp_timeout_seconds: float = 10.0
    mail_from: str = "Propylon <no-reply@localhost>"

    # Lifecycle
    retention_days: int = 30
    """Deprovisioned (DELETEd) users are kept this long, then removed by ``propylon purge``."""

    # Pool and server
    db_pool_size: int = 20
    sqlite_synchronous: Literal["NORMAL", "FULL", "EXTRA"] = "NORMAL"
    """The embedded SQLite database's ``PRAGMA synchronous`` (WAL mode; ``db/sqlite.py``).
    ``NORMAL``: never corrupted; a power loss or OS crash may undo the transactions committed
    since the last WAL sync. ``FULL``: durable up to the last commit, one fsync per write."""
    auto_migrate: bool = True
    log_level: str = "info"
    log_json: bool = True

    # ``propylon demo`` (``demo/``)
    demo_enabled: bool = False
    """Serve the demo host app at ``/demo`` (made by ``propylon demo``, which sets it for its
    own process). Off: every ``/demo`` path is 404."""

    def trusted_proxy_networks(self) -> tuple[Network, ...]:
        """:attr:`trusted_proxies`, parsed (once per value: every per-address limit reads it
        on every request)."""
        return parse_networks(self.trusted_proxies)

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'propylon.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url().startswith("sqlite")

    # Sign-in (OpenID Provider, sessions)
    session_lifetime_seconds: int = 28_800
    """Server-side sign-in session lifetime; an IdP's SessionNotOnOrAfter can shorten it."""
    access_token_lifetime_seconds: int = 300
    id_token_lifetime_seconds: int = 300
    refresh_token_lifetime_seconds: int = 2_592_000
    auth_code_lifetime_seconds: int = 60
    signing_alg: str = "ES256"
    """JWS algorithm of ID and access tokens: ES256 (default) or RS256."""
    signing_key_retire_seconds: int = 86_400
    """After ``propylon keys rotate`` the previous key stays in JWKS this long."""
    backchannel_logout_token_lifetime_seconds: int = Field(default=120, ge=10, le=3600)
    """``exp`` - ``iat`` of logout tokens sent to apps (Back-Channel Logout 1.0 §2.4: short);
    each delivery attempt signs a new one."""

    # SAML 2.0 service provider
    saml_clock_skew_seconds: int = 120
    """Tolerance on NotBefore/NotOnOrAfter of assertions (SAML Core §2.5.1.2)."""
    saml_allow_sha1: bool = False
    """Accept RSA-SHA1 signatures and SHA-1 digests (broken; only for legacy IdPs)."""
    saml_max_response_bytes: int = 262_144
    saml_request_lifetime_seconds: int = 600
    """How long a person may take at the IdP: an AuthnRequest's answer is accepted this long
    after it was sent (the pending sign-in's cookie lives as long)."""
    saml_metadata_refresh_seconds: int = 21_600
    """How often connections created from a metadata URL re-read it."""
    saml_metadata_refresh_enabled: bool = True
    """Run the background task re-reading metadata URLs (one per server process)."""
    saml_cert_expiry_warning_days: int = 30
    """A connection view says ``expiring_soon`` when an IdP certificate ends within this."""

    # Domains, sign-in routing, pages
    dns_nameservers: str = ""
    """Nameservers DNS proofs of domains are asked of (``host[:port]``, comma-separated;
    IPv6 as ``[addr]:port``). Empty: the system's resolvers."""
    dns_timeout_seconds: float = Field(default=5.0, gt=0, le=30)
    """Bound on one DNS proof lookup (all retries and nameservers together)."""
    domain_recheck_seconds: int = Field(default=86_400, ge=0)
    """How often verified self-service domains are re-proved in DNS; a domain whose record
    is gone lapses and stops routing. 0: no re-check."""
    portal_link_default_seconds: int = Field(default=3_600, ge=60)
    """How long a setup portal link can be redeemed when its creator gives no duration."""
    portal_link_max_seconds: int = Field(default=604_800, ge=60)
    """The longest a setup portal link may be asked to live (a week)."""
    portal_session_seconds: int = Field(default=3_600, ge=60, le=86_400)
    """How long the portal session a link opens lasts; it never outlives this."""
    connection_test_retention_days: int = Field(default=30, ge=1)
    """Test connection results are kept this long after they finished (a test never
    answered: after it expired), then removed by ``propylon purge``."""
    brand_name: str = "Propylon"
    """The host platform's name, in the title and heading of sign-in and error pages."""
    brand_logo_url: str | None = None
    """A logo shown on those pages (an https URL, or a path on this server)."""
    brand_home_url: str | None = None
    """Where "back" goes from an error page (the platform's home); unset: the start of
    sign-in."""
    brand_color: str = "#1d4ed8"
    """The host platform's colour (``#rrggbb``) for links, buttons and focus outlines on
    Propylon's pages. Refused at start unless it, or white or near-black text on it, keeps
    a contrast of at least 4.5:1 (WCAG 2.2 SC 1.4.3) against white."""

    @field_validator("brand_color")
    @classmethod
    def _brand_color_readable(cls, value: str) -> str:
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
            raise ValueError("brand_color must be #rrggbb")
        if contrast(value, "#ffffff") < 4.5:
            raise ValueError(
                f"brand_color {value} has a contrast of {contrast(value, '#ffffff'):.2f}:1 "
                "against white; links and outlines need at least 4.5:1 (choose a darker shade)"
            )
        return value.lower()

    # OpenID Connect relying party (a tenant's OpenID Provider, and Google)
    oidc_login_lifetime_seconds: int = Field(default=600, ge=30, le=3600)
    """How long a person may take at the OpenID Provider: the callback is accepted this long
    after the login started (the pending sign-in's cookie lives as long)."""
    google_client_id: str = ""
    """Google sign-in's OAuth client id (Google Cloud console); empty: Google sign-in off (the
    sign-in page offers it only when set, and where the tenant allows it)."""
    google_client_secret: SecretStr = SecretStr("")
    """Google sign-in's client secret: from the environment only, never logged or stored."""
    google_issuer: str = "https://accounts.google.com"
    """Google's issuer identifier (its discovery document is read from it); tests point it
    at a local OpenID Provider."""

    # The built-in test IdP (testidp/: /test-idp/saml and /test-idp/oidc)
    test_idp_enabled: bool = False
    """Serve the test SAML IdP and OpenID Provider under ``/test-idp/`` (a person picks who
    they are: anyone can sign in as anyone through a connection that trusts it). Off: every
    ``/test-idp/`` URL is 404. With PostgreSQL configured the server refuses to start with
    it unless ``PROPYLON_TEST_IDP_FORCE``."""
    test_idp_force: bool = False
    """Let the test IdP run with PostgreSQL configured (a shared test installation)."""

    # The event feed (feed/, docs/events.md)
    feed_poll_seconds: float = Field(default=0.25, ge=0.01, le=60)
    """How often each process's sequencer and follower look for new events without being
    woken (after a commit in the process, or through the accelerator's ``feed`` channel)."""
    feed_batch_size: int = Field(default=500, ge=1, le=10_000)
    """Events numbered (and handed to the feed hooks) per sequencer transaction."""
    events_retention_days: int = Field(default=30, ge=1)
    """Sequenced events are kept (and replayable through the API and stream) this long."""
    events_stream_heartbeat_seconds: float = Field(default=1.0, gt=0, le=60)
    """Interval of the SSE stream's heartbeats, each sent only after a successful read of
    the database (none while it cannot be read)."""
    events_stream_max_per_key: int = Field(default=16, ge=1, le=100_000)
    """Open event streams one API key may hold on one process (429 beyond)."""
    events_stream_max: int = Field(default=1000, ge=1, le=1_000_000)
    """Open event streams one process serves in all (429 beyond)."""
    events_stream_reauth_seconds: float = Field(default=30.0, gt=0, le=3600)
    """How often an open event stream checks its API key again: a revoked key's streams end
    within this time (``event: end``)."""


def _luminance(colour: str) -> float:
    """Relative luminance of ``#rrggbb`` (WCAG 2.2, "relative luminance")."""
    channels = []
    for i in (1, 3, 5):
        c = int(colour[i : i + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    r, g, b = channels
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """The contrast ratio of two ``#rrggbb`` colours (WCAG 2.2, "contrast ratio")."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def brand_text_colour(colour: str) -> str:
    """White or near-black text on ``colour``, whichever contrasts more."""
    return "#ffffff" if contrast(colour, "#ffffff") >= contrast(colour, "#111111") else "#111111"
