"""Logout token validation, OpenID Connect Back-Channel Logout 1.0 §2.6 (with the token's
content from §2.4):

1. encrypted logout tokens are not accepted;
2. the signature as for ID tokens (``jose.py``: allowed asymmetric ``alg``, key only from
   the issuer's JWK Set, ``crit`` refused);
3. ``iss``, ``aud`` and ``iat`` as for ID tokens (Core §3.1.3.7), ``exp`` when present;
4. ``sub`` and/or ``sid`` present; 5. ``events`` holds the member
   ``http://schemas.openid.net/event/backchannel-logout`` whose value is a JSON object;
6. no ``nonce`` (§2.4: it keeps a logout token from passing as an ID token);
7. ``jti`` present, for the caller's replay check (§2.6 step 8, on
   :attr:`LogoutClaims.replay_until`).

``typ``: §2.4 says logout tokens SHOULD be explicitly typed ``logout+jwt`` (RFC 8725 §3.11)
but does not require it, and providers written against the 2022 text send none. So a
``typ`` that is present must be ``logout+jwt`` (or ``application/logout+jwt``), and an
absent one is accepted: what tells a logout token from an ID token is then the ``events``
claim it must have and the ``nonce`` it must not (§4.1 Cross-JWT Confusion).

``exp``: the 2022 text has no ``exp`` claim (errata set 1 added it); a token without one is
accepted only ``max_age_without_exp`` seconds after its ``iat`` (§4: "preferably at most two
minutes"), so no logout token stays valid forever and the replay record has an end.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from propylon.oidc import claims as c
from propylon.oidc.errors import OidcError
from propylon.oidc.jose import KeyResolver, verify_jws

BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
MAX_TOKEN_BYTES = 65_536
MAX_AGE_WITHOUT_EXP = 120
_STAGE = "logout_token"
_TYPES = frozenset({"logout+jwt", "application/logout+jwt"})


@dataclass(frozen=True)
class LogoutClaims:
    issuer: str
    jti: str
    iat: datetime
    exp: datetime | None
    replay_until: datetime
    """Until when the token could be accepted: keep ``(issuer, jti)`` at least this long."""
    sub: str | None = None
    sid: str | None = None


async def validate_logout_token(
    token: str,
    *,
    keys: KeyResolver,
    issuer: str,
    client_id: str,
    now: datetime,
    skew: timedelta | float,
    allowed_algs: Collection[str],
    trusted_audiences: Collection[str] = (),
    max_bytes: int = MAX_TOKEN_BYTES,
    max_age_without_exp: int = MAX_AGE_WITHOUT_EXP,
) -> LogoutClaims:
    """The claims of a logout token that passes every step, else :class:`OidcError`."""
    verified = await verify_jws(
        token, keys=keys, allowed_algs=allowed_algs, max_bytes=max_bytes, stage=_STAGE
    )
    typ = verified.header.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.lower() not in _TYPES):
        raise OidcError("typ_mismatch", "the token is not typed logout+jwt", _STAGE)
    claims = verified.claims
    c.check_issuer(claims, issuer, _STAGE)
    c.check_audience(claims, client_id, trusted_audiences, _STAGE, with_azp=False)
    iat, exp = c.check_times(claims, now, skew, _STAGE, require_exp=False)
    tolerance = timedelta(seconds=c.seconds(skew))
    ends = exp if exp is not None else iat + timedelta(seconds=max_age_without_exp)
    if exp is None and now >= ends + tolerance:
        raise OidcError("expired", "the token (without exp) is too old", _STAGE)
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_LOGOUT_EVENT), dict):
        raise OidcError("events_invalid", "the token carries no back-channel logout event", _STAGE)
    if "nonce" in claims:
        raise OidcError("nonce_present", "a logout token must not carry a nonce", _STAGE)
    jti = c.identifier(claims, "jti", _STAGE, required=True)
    assert jti is not None
    sub = c.identifier(claims, "sub", _STAGE, required=False)
    sid = c.identifier(claims, "sid", _STAGE, required=False)
    if sub is None and sid is None:
        raise OidcError("claim_missing", "a logout token names sub, sid or both", _STAGE)
    return LogoutClaims(issuer, jti, iat, exp, ends + tolerance, sub, sid)
