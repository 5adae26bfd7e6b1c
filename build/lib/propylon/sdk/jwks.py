"""The issuer's JWK Set (RFC 7517 §5), cached; an unknown ``kid`` refetches it, at most once
per ``min_refresh`` seconds (a flood of made-up ``kid``s costs Propylon one request per
interval), and it is refreshed in the background of a verification after ``max_age``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from propylon.sdk.jose import VerifyingKey


class JwksCache:
    def __init__(
        self,
        jwks_uri: str,
        *,
        min_refresh: float = 5.0,
        max_age: float = 600.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.jwks_uri = jwks_uri
        self.min_refresh = min_refresh
        self.max_age = max_age
        self._monotonic = monotonic
        self.keys: dict[str, VerifyingKey] = {}
        self._fetched_at: float | None = None

    def load(self, document: Any) -> None:
        """Replace the keys with those of a JWK Set document (unusable keys skipped)."""
        found: dict[str, VerifyingKey] = {}
        if isinstance(document, dict) and isinstance(document.get("keys"), list):
            for jwk in document["keys"]:
                if isinstance(jwk, dict):
                    key = VerifyingKey.from_jwk(jwk)
                    if key is not None:
                        found[key.kid] = key
        self.keys = found
        self._fetched_at = self._monotonic()

    def may_fetch(self) -> bool:
        """Whether a fetch for an unknown ``kid`` is allowed now (the rate limit)."""
        at = self._fetched_at
        return at is None or self._monotonic() - at >= self.min_refresh

    def due(self) -> bool:
        at = self._fetched_at
        return at is None or self._monotonic() - at >= self.max_age

    def fetch(self, client: httpx.Client) -> None:
        self._fetched_at = self._monotonic()  # a failed fetch counts for the rate limit too
        r = client.get(self.jwks_uri)
        r.raise_for_status()
        self.load(r.json())

    async def afetch(self, client: httpx.AsyncClient) -> None:
        self._fetched_at = self._monotonic()
        r = await client.get(self.jwks_uri)
        r.raise_for_status()
        self.load(r.json())
