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
from types import MappingProxyType
from typing import Any

from propylon.sdk.errors import InvalidToken
from propylon.sdk.jose import ALGORITHMS, claims_of, split
from propylon.sdk.jwks import JwksCache
from propylon.sdk.principal import Entitlements, Principal, principal_from
from propylon.sdk.view import LocalView

TYPES = frozenset({"at+jwt", "application/at+jwt"})  # RFC 9068 §2.1, §4


class UnknownKey(Exception):
    """The token names a ``kid`` the cached JWK Set lacks: refetch, then check again."""


class Verified:
    """Claims whose signature was just checked, and their token-sourced principal (built
    once per distinct payload: the same token comes back with every request of a session)."""

    __slots__ = ("_principal", "_with_view", "claims")

    def __init__(self, claims: Mapping[str, Any]) -> None:
        self.claims = claims
        self._principal: Principal | None = None
        self._with_view: tuple[Entitlements, Principal] | None = None

    def principal(self) -> Principal:
        p = self._principal
        if p is None:
            p = self._principal = principal_from(self.claims, None, "token")
        return p

    def principal_with(self, ent: Entitlements) -> Principal:
        """The principal with the view's newer entitlements (kept while they are the same
        object: the view replaces, never mutates, a user's entitlements)."""
        kept = self._with_view
        if kept is not None and kept[0] is ent:
            return kept[1]
        p = principal_from(self.claims, ent, "view")
        self._with_view = (ent, p)
        return p


PARSED_KEPT = 4096
"""Parsed payloads kept by their encoded form (a bounded dict, emptied when full)."""


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
        self._parsed: dict[str, Verified] = {}

    def verified(self, token: str) -> Verified:
        """The claims of a token this issuer signed for this audience, unexpired; raises
        :class:`InvalidToken` or :class:`UnknownKey`. The signature is checked every time;
        the time claims too (only the JSON parse and the static checks are remembered)."""
        header, payload, signature, signing_input = split(token)
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise InvalidToken("algorithm")
        if header.get("typ") not in TYPES:
            raise InvalidToken("typ")
        if "crit" in header:  # RFC 7515 §4.1.11: no extension is understood here
            raise InvalidToken("crit")
        key = self.jwks.keys.get(header.get("kid"))  # type: ignore[arg-type]
        if key is None:
            raise UnknownKey()
        if key.alg != alg:
            raise InvalidToken("algorithm")
        if not key.verify(signature, signing_input):
            raise InvalidToken("bad_signature")
        v = self._parsed.get(payload)
        if v is None:
            claims = claims_of(payload)
            self._static(claims)
            v = Verified(MappingProxyType(claims))
            if len(self._parsed) >= PARSED_KEPT:
                self._parsed.clear()
            self._parsed[payload] = v
        self._times(v.claims)
        return v

    def claims(self, token: str) -> Mapping[str, Any]:
        return self.verified(token).claims

    def _static(self, c: dict[str, Any]) -> None:
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
        if nbf is not None and type(nbf) is not int:
            raise InvalidToken("claims")
        if exp - iat > self.max_lifetime:
            raise InvalidToken("lifetime")
        if type(c.get("sub")) is not str or type(c.get("sid")) is not str:
            raise InvalidToken("claims")

    def _times(self, c: Mapping[str, Any]) -> None:
        now = self._clock()
        if c["exp"] + self.leeway <= now:
            raise InvalidToken("expired")
        nbf = c.get("nbf")
        if c["iat"] - self.leeway > now or (nbf is not None and nbf - self.leeway > now):
            raise InvalidToken("not_yet_valid")

    def decide(self, v: Verified) -> Principal | None:
        """The principal, a refusal from the view, or ``None`` if the view is stale."""
        view = self.view
        if view is None:
            return v.principal()
        if not view.fresh():
            return None
        claims = v.claims
        reason = view.refusal(claims)
        if reason is not None:
            raise InvalidToken(reason)
        if view.entitlements:
            newer = view.newer_entitlements(claims["sub"], claims.get("entitlements_version"))
            if newer is not None:
                return v.principal_with(newer)
        return v.principal()

    def check(self, token: str) -> Principal | None:
        return self.decide(self.verified(token))


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
