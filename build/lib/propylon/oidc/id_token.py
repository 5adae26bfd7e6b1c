"""ID token validation, OpenID Connect Core 1.0 §3.1.3.7 (code flow), every step:

1. encrypted ID tokens are not accepted (none was asked for at registration);
2. ``iss`` exactly the issuer;
3. ``aud`` holds ``client_id``, and any other audience is one the connection trusts;
4. with several audiences ``azp`` is required, and
5. ``azp``, when present, is ``client_id``;
6-8. the signature, by a key of the issuer's JWK Set only, with an allowed asymmetric
   ``alg`` whose key type fits (``jose.py``: never ``none``, never HMAC, never a key the
   token's ``jwk``/``jku``/``x5u``/``x5c`` headers name; unknown ``crit`` refused);
9. ``exp`` not passed, and 10. ``iat`` not in the future (both within the skew; ``nbf``,
   when present, reached: RFC 7519 §4.1.5);
11. ``nonce`` equal to the one sent (missing refused when one was sent);
13. with ``max_age``, ``auth_time`` present and recent enough.
``sub`` is required (§2): a non-empty string of at most 255 characters. A ``typ`` naming
another kind of JWT (``logout+jwt``, ``at+jwt``, ...: RFC 8725 §3.11) is refused.

The caller keeps :attr:`IdTokenClaims.replay_key` to accept a token once.
"""

from __future__ import annotations

import hmac
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from propylon.oidc import claims as c
from propylon.oidc.errors import OidcError
from propylon.oidc.jose import KeyResolver, verify_jws

__all__ = ["IdTokenClaims", "KeyResolver", "validate_id_token"]

MAX_TOKEN_BYTES = 65_536
_STAGE = "id_token"


@dataclass(frozen=True)
class IdTokenClaims:
    sub: str
    issuer: str
    audiences: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime
    replay_key: str
    """SHA-256 over issuer and the signed part (``claims.replay_key``)."""
    nonce: str | None = None
    sid: str | None = None
    auth_time: datetime | None = None
    azp: str | None = None
    jti: str | None = None
    claims: dict[str, Any] = field(default_factory=dict)
    """Every claim, for attribute mapping."""


async def validate_id_token(
    token: str,
    *,
    keys: KeyResolver,
    issuer: str,
    client_id: str,
    trusted_audiences: Collection[str] = (),
    nonce: str | None,
    now: datetime,
    skew: timedelta | float,
    allowed_algs: Collection[str],
    max_bytes: int = MAX_TOKEN_BYTES,
    max_age: int | None = None,
) -> IdTokenClaims:
    """The claims of an ID token that passes every step, else :class:`OidcError`."""
    verified = await verify_jws(
        token, keys=keys, allowed_algs=allowed_algs, max_bytes=max_bytes, stage=_STAGE
    )
    typ = verified.header.get("typ")
    if typ is not None and (
        not isinstance(typ, str) or typ.lower().removeprefix("application/").endswith("+jwt")
    ):
        raise OidcError("typ_mismatch", "the token is typed as another kind of JWT", _STAGE)
    claims = verified.claims
    c.check_issuer(claims, issuer, _STAGE)
    audiences = c.check_audience(claims, client_id, trusted_audiences, _STAGE)
    issued_at, expires_at = c.check_times(claims, now, skew, _STAGE)
    assert expires_at is not None  # required above
    if nonce is not None:
        _check_nonce(claims.get("nonce"), nonce)
    sub = c.identifier(claims, "sub", _STAGE, required=True)
    assert sub is not None
    auth_time = c.numeric_date(claims, "auth_time", _STAGE)
    if max_age is not None:
        if auth_time is None:
            raise OidcError("auth_time_missing", "max_age was asked: auth_time is required", _STAGE)
        if now > auth_time + timedelta(seconds=max_age + c.seconds(skew)):
            raise OidcError("auth_too_old", "the authentication is older than max_age", _STAGE)
    return IdTokenClaims(
        sub=sub,
        issuer=issuer,
        audiences=audiences,
        issued_at=issued_at,
        expires_at=expires_at,
        replay_key=c.replay_key(issuer, token),
        nonce=claims.get("nonce") if isinstance(claims.get("nonce"), str) else None,
        sid=c.identifier(claims, "sid", _STAGE, required=False),
        auth_time=auth_time,
        azp=claims.get("azp"),
        jti=claims.get("jti") if isinstance(claims.get("jti"), str) else None,
        claims=claims,
    )


def _check_nonce(found: object, sent: str) -> None:
    """Step 11, in constant time (the nonce binds the token to this browser's request)."""
    if found is None:
        raise OidcError("nonce_missing", "the token has no nonce though one was sent", _STAGE)
    if not isinstance(found, str) or not hmac.compare_digest(
        found.encode("utf-8", "surrogatepass"), sent.encode("utf-8", "surrogatepass")
    ):
        raise OidcError("nonce_mismatch", "the nonce is not the one sent", _STAGE)
