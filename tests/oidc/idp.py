"""A small OpenID Provider on loopback for the library's tests: discovery, JWKS, token and
userinfo endpoints answering what the test sets, and tokens signed with keys the test
holds (``sign``), so every certification theme can be crafted byte by byte."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey
from joserfc.jws import JWSRegistry

from propylon.oidc.discovery import ProviderCache
from propylon.outbound import GuardedFetcher, OutboundPolicy
from tests.loopback_http import LoopbackHttp

INSIDE = GuardedFetcher(OutboundPolicy(allow_private=True, timeout_seconds=5))
CLIENT_ID = "propylon-client"
START = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)

SigningKey = RSAKey | ECKey | OKPKey | OctKey
PROVIDER_KEY = RSAKey.generate_key(2048)
"""The provider's first key (made once: tests that need others add them)."""


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign(claims: dict[str, Any], key: SigningKey | bytes, header: dict[str, Any]) -> str:
    """A compact JWS over ``claims`` with exactly ``header`` (which names the alg)."""
    return sign_bytes(json.dumps(claims).encode(), key, header)


def sign_bytes(payload: bytes, key: SigningKey | bytes, header: dict[str, Any]) -> str:
    """Signed by hand, so no library refuses to make what an attacker would make (HMAC
    keyed with public key bytes, ``crit``, odd header values): ``key`` is the HMAC secret
    for ``HS*``."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(payload)}".encode()
    alg = header["alg"]
    if isinstance(key, bytes):
        digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
        signature = hmac.new(key, signing_input, digest).digest()
    else:
        signature = JWSRegistry.algorithms[alg].sign(signing_input, key)
    return f"{signing_input.decode()}.{b64url(signature)}"


def unsigned(claims: dict[str, Any], header: dict[str, Any]) -> str:
    """``header.payload.`` with an empty signature (for ``alg: none``)."""
    return f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}."


@dataclass
class Idp:
    """The provider: ``keys`` (kid → private key) are published in its JWKS."""

    server: LoopbackHttp = field(init=False)
    keys: dict[str, SigningKey] = field(default_factory=dict)
    extra_metadata: dict[str, Any] = field(default_factory=dict)
    token_answer: tuple[int, dict[str, Any]] = (200, {})
    userinfo_answer: tuple[int, dict[str, str], bytes] = (200, {}, b"{}")
    failing: set[str] = field(default_factory=set)
    """Paths that answer 503."""

    def __post_init__(self) -> None:
        self.server = LoopbackHttp(self._answer)
        self.keys.setdefault("rsa-1", PROVIDER_KEY)

    @property
    def issuer(self) -> str:
        return self.server.origin

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            **self.extra_metadata,
        }

    def jwks(self) -> dict[str, Any]:
        return {
            "keys": [
                {**key.as_dict(private=False), "kid": kid}
                for kid, key in self.keys.items()
                if not isinstance(key, OctKey)
            ]
        }

    def hits(self, path: str) -> int:
        return sum(1 for r in self.server.requests if r.path == path)

    def _answer(self, path: str) -> tuple[int, dict[str, str], bytes]:
        as_json = {"Content-Type": "application/json"}
        if path in self.failing:
            return 503, {}, b""
        if path == "/.well-known/openid-configuration":
            return 200, as_json, json.dumps(self.metadata()).encode()
        if path == "/jwks":
            return 200, as_json, json.dumps(self.jwks()).encode()
        if path == "/token":
            status, body = self.token_answer
            return status, as_json, json.dumps(body).encode()
        if path == "/userinfo":
            return self.userinfo_answer
        return 404, {}, b""

    def cache(self, clock: Clock, **limits: Any) -> ProviderCache:
        return ProviderCache(INSIDE, clock, require_https=False, **limits)

    def close(self) -> None:
        self.server.close()
