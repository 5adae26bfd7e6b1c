"""Access-token verification without I/O: the JWS (``jose.py``), the JWT access token profile
(RFC 9068 §4: ``typ`` ``at+jwt``, ``iss``, ``aud``, ``exp``; RFC 7519 §4.1 ``nbf``/``iat``
with a leeway), then the local view (``view.py``).

:meth:`TokenVerifier.check` answers one of three ways: a :class:`Principal`, an
:class:`InvalidToken`, or ``None`` when the view is stale and Propylon must be asked
(introspection, RFC 7662). I/O (the JWK Set, introspection) is the caller's: ``client.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from propylon.sdk.errors import InvalidToken
from propylon.sdk.jose import ALGORITHMS, claims_of, split
from propylon.sdk.jwks import JwksCache
from propylon.sdk.principal import Entitlements, Principal, principal_from
from propylon.sdk.view import LocalView

TYPES = frozenset({"at+jwt", "application/at+jwt"})  # RFC 9068 §2.1, §4


class UnknownKey(Exception):
    """The token names a ``kid`` the cached JWK Set lacks: refetch, then check again."""


class TokenVerifier:
    def __init__(
        self,
        *,
        issuer: str,
        audience: str | frozenset[str],
        jwks: JwksCache,
        view: LocalView | None,
        leeway: int = 30,
        max_lifetime: int = 3600,
        algorithms: tuple[str, ...] = ALGORITHMS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuer = issuer
        self.audiences = frozenset([audience]) if isinstance(audience, str) else audience
        self.jwks = jwks
        self.view = view
        self.leeway = leeway
        self.max_lifetime = max_lifetime
        self.algorithms = frozenset(a for a in algorithms if a in ALGORITHMS)
        self._clock = clock

    def claims(self, token: str) -> dict[str, Any]:
        """The claims of a token this issuer signed for this audience, unexpired; raises
        :class:`InvalidToken` or :class:`UnknownKey`."""
        header, payload, signature, signing_input = split(token)
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise InvalidToken("algorithm")
        if header.get("typ") not in TYPES:
            raise InvalidToken("typ")
        key = self.jwks.keys.get(header.get("kid"))  # type: ignore[arg-type]
        if key is None:
            raise UnknownKey()
        if key.alg != alg:
            raise InvalidToken("algorithm")
        if not key.verify(signature, signing_input):
            raise InvalidToken("bad_signature")
        claims = claims_of(payload)
        self._check(claims)
        return claims

    def _check(self, c: dict[str, Any]) -> None:
        if c.get("iss") != self.issuer:
            raise InvalidToken("issuer")
        aud = c.get("aud")
        if isinstance(aud, str):
            if aud not in self.audiences:
                raise InvalidToken("audience")
        elif not isinstance(aud, list) or self.audiences.isdisjoint(aud):
            raise InvalidToken("audience")
        exp, iat, nbf = c.get("exp"), c.get("iat"), c.get("nbf")
        if type(exp) is not int or type(iat) is not int:
            raise InvalidToken("claims")
        now = self._clock()
        if exp + self.leeway <= now:
            raise InvalidToken("expired")
        if iat - self.leeway > now or (type(nbf) is int and nbf - self.leeway > now):
            raise InvalidToken("not_yet_valid")
        if exp - iat > self.max_lifetime:
            raise InvalidToken("lifetime")
        if type(c.get("sub")) is not str or type(c.get("sid")) is not str:
            raise InvalidToken("claims")

    def decide(self, claims: Mapping[str, Any]) -> Principal | None:
        """The principal, a refusal from the view, or ``None`` if the view is stale."""
        view = self.view
        if view is None:
            return principal_from(claims, None, "token")
        if not view.fresh():
            return None
        reason = view.refusal(claims)
        if reason is not None:
            raise InvalidToken(reason)
        newer = view.newer_entitlements(claims["sub"], claims.get("entitlements_version"))
        return principal_from(claims, newer, "view" if newer is not None else "token")

    def check(self, token: str) -> Principal | None:
        return self.decide(self.claims(token))


def from_introspection(claims: Mapping[str, Any], answer: Mapping[str, Any]) -> Principal:
    """The principal of a token Propylon says is active (RFC 7662 §2.2): its current
    entitlements replace the token's copy."""
    if answer.get("active") is not True or answer.get("sub") != claims.get("sub"):
        raise InvalidToken("inactive")
    ent = (
        Entitlements.from_json(answer)
        if "entitlements_version" in answer or "roles" in answer
        else None
    )
    return principal_from(claims, ent, "introspection")
