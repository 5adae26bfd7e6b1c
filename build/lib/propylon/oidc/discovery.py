"""Provider metadata and signing keys, fetched through the outbound guard and cached per
issuer (OpenID Connect Discovery 1.0 §4, Core §10.1.1).

Metadata is kept ``metadata_ttl_seconds``; so is a JWK Set, after which the next use reads
it again. A ``kid`` the cached set does not have is what a key rotation looks like (Core
§10.1.1: the provider adds the new key to its JWKS before signing with it), so it makes the
set be read once more at once, but at most once per ``jwks_refetch_min_interval_seconds``
per issuer: a stream of tokens naming made-up ``kid`` values cannot turn into a stream of
requests to the provider. A failed read is not repeated within that interval either (the
document read before serves meanwhile, or with none the failure is repeated), so requests
anyone can send (a login start, a back-channel logout) never make one outbound request each.
Fetches of one issuer are serialised, so a burst of sign-ins after the cache lapsed reads
each document once.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from propylon.oidc.errors import OidcError
from propylon.oidc.jose import KeyResolver
from propylon.oidc.jwks import JwkEntry, Key, parse_jwks, select_key
from propylon.oidc.metadata import ProviderMetadata, discovery_url, parse_metadata
from propylon.outbound import Fetcher, GuardedFetcher, OutboundError, OutboundPolicy
from propylon.settings import Settings

__all__ = ["Key", "ProviderCache", "ProviderMetadata", "fetch_provider_metadata"]


async def fetch_provider_metadata(policy: OutboundPolicy, issuer: str) -> ProviderMetadata:
    """The issuer's metadata read now, nothing cached (checking an issuer an operator
    typed); endpoints must be https unless the policy allows plain http."""
    body = await _get(
        GuardedFetcher(policy), discovery_url(issuer), "discovery", "discovery_failed"
    )
    return parse_metadata(body, issuer, require_https=not policy.http_allowed)


@dataclass
class _Jwks:
    entries: list[JwkEntry]
    fetched_at: datetime


@dataclass
class _Issuer:
    lock: asyncio.Lock
    metadata: ProviderMetadata | None = None
    metadata_at: datetime | None = None
    failure: OidcError | None = None
    """The last discovery failure, repeated without a request for a while."""
    failure_at: datetime | None = None
    jwks: _Jwks | None = None
    jwks_attempt_at: datetime | None = None


class ProviderCache:
    """Metadata and JWK Sets of the issuers this process talks to (at most ``max_issuers``,
    the least recently used forgotten first)."""

    def __init__(
        self,
        fetch: Fetcher,
        clock: Callable[[], datetime],
        *,
        metadata_ttl_seconds: float = 3600,
        jwks_refetch_min_interval_seconds: float = 60,
        require_https: bool = True,
        max_issuers: int = 1000,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._ttl = metadata_ttl_seconds
        self._refetch_interval = jwks_refetch_min_interval_seconds
        self._require_https = require_https
        self._max_issuers = max_issuers
        self._issuers: OrderedDict[str, _Issuer] = OrderedDict()

    @classmethod
    def from_settings(
        cls, fetch: Fetcher, clock: Callable[[], datetime], settings: Settings
    ) -> ProviderCache:
        return cls(
            fetch,
            clock,
            metadata_ttl_seconds=settings.oidc_metadata_cache_seconds,
            jwks_refetch_min_interval_seconds=settings.oidc_jwks_refetch_min_interval_seconds,
            require_https=not settings.outbound_allow_private_hosts,
        )

    async def metadata(self, issuer: str) -> ProviderMetadata:
        """The issuer's metadata, its ``issuer`` exactly ``issuer`` (Discovery §4.3)."""
        state = self._state(issuer)
        async with state.lock:
            now = self._clock()
            if state.metadata is not None and self._fresh(state.metadata_at, now):
                return state.metadata
            if state.failure is not None and not self._may_retry(state.failure_at, now):
                # the provider just failed: not asked again at once
                return _or_raise(state.metadata, state.failure)
            try:
                url = discovery_url(issuer)
                body = await _get(self._fetch, url, "discovery", "discovery_failed")
                state.metadata = parse_metadata(body, issuer, require_https=self._require_https)
            except OidcError as exc:
                state.failure, state.failure_at = exc, now
                return _or_raise(state.metadata, exc)  # the document read before serves
            state.metadata_at, state.failure = now, None
            return state.metadata

    async def key(self, issuer: str, kid: str | None, alg: str) -> Key | None:
        """The key of the issuer's JWK Set that verifies a JWS with this ``kid`` and ``alg``
        (:func:`propylon.oidc.jwks.select_key`), or ``None``."""
        meta = await self.metadata(issuer)
        state = self._state(issuer)
        async with state.lock:
            now = self._clock()
            may_fetch = self._may_retry(state.jwks_attempt_at, now)
            if state.jwks is not None and self._fresh(state.jwks.fetched_at, now):
                found = select_key(state.jwks.entries, kid, alg)
                if found is not None or not may_fetch:
                    return found
                return select_key((await self._load_jwks(state, meta, now)).entries, kid, alg)
            if may_fetch:
                try:
                    return select_key((await self._load_jwks(state, meta, now)).entries, kid, alg)
                except OidcError:
                    if state.jwks is None:
                        raise
                    # the set read before serves until the next attempt is due
            elif state.jwks is None:
                raise OidcError("jwks_failed", "the JWKS could not be read just now", "jwks")
            return select_key(state.jwks.entries, kid, alg)

    def resolver(self, issuer: str) -> KeyResolver:
        """:meth:`key` for one issuer, as the validators take it."""

        async def resolve(kid: str | None, alg: str) -> Key | None:
            return await self.key(issuer, kid, alg)

        return resolve

    def forget(self, issuer: str) -> None:
        """Drop what is cached of ``issuer`` (its connection changed)."""
        self._issuers.pop(issuer, None)

    def _state(self, issuer: str) -> _Issuer:
        state = self._issuers.get(issuer)
        if state is None:
            state = self._issuers[issuer] = _Issuer(asyncio.Lock())
            while len(self._issuers) > self._max_issuers:
                self._issuers.popitem(last=False)
        self._issuers.move_to_end(issuer)
        return state

    def _fresh(self, at: datetime | None, now: datetime) -> bool:
        return at is not None and 0 <= (now - at).total_seconds() < self._ttl

    def _may_retry(self, last: datetime | None, now: datetime) -> bool:
        """At most one request per ``jwks_refetch_min_interval_seconds`` for an unknown
        ``kid`` or after a failure."""
        return last is None or not 0 <= (now - last).total_seconds() < self._refetch_interval

    async def _load_jwks(self, state: _Issuer, meta: ProviderMetadata, now: datetime) -> _Jwks:
        state.jwks_attempt_at = now  # a failing JWKS endpoint is not asked again at once
        body = await _get(self._fetch, meta.jwks_uri, "jwks", "jwks_failed")
        try:
            entries = parse_jwks(json.loads(body))
        except (ValueError, UnicodeDecodeError) as exc:
            raise OidcError("jwks_failed", f"the JWKS is not a JWK Set: {exc}", "jwks") from None
        state.jwks = _Jwks(entries, now)
        return state.jwks


def _or_raise(metadata: ProviderMetadata | None, failure: OidcError) -> ProviderMetadata:
    if metadata is None:
        raise failure
    return metadata


async def _get(fetch: Fetcher, url: str, stage: str, reason: str) -> bytes:
    """A 200 answer's body; anything else is an :class:`OidcError` of ``reason``."""
    try:
        response = await fetch("GET", url, headers={"Accept": "application/json"})
    except OutboundError as exc:
        raise OidcError(reason, exc.detail, stage, {"url": url, "cause": exc.reason}) from None
    if response.status != 200:
        raise OidcError(
            reason, f"{url} answered {response.status}", stage, {"status": response.status}
        )
    return response.body
