"""Claim checks ID tokens and logout tokens share (OpenID Connect Core §3.1.3.7 steps 2-5,
9-10; Back-Channel Logout 1.0 §2.6 step 3 applies them to logout tokens too)."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from propylon.oidc.errors import OidcError
from propylon.text import UNSTORABLE

MAX_IDENTIFIER = 255
"""Core §2: ``sub`` is at most 255 ASCII characters; ``sid`` and ``jti`` get the same bound."""


def seconds(skew: timedelta | float) -> float:
    return skew.total_seconds() if isinstance(skew, timedelta) else float(skew)


def check_issuer(claims: Mapping[str, Any], issuer: str, stage: str) -> None:
    """Step 2: ``iss`` exactly the issuer (no normalisation: Core §16.15)."""
    found = claims.get("iss")
    if found != issuer:
        raise OidcError(
            "issuer_mismatch",
            "the token comes from another issuer",
            stage,
            {"expected": issuer, "found": str(found)[:200]},
        )


def check_audience(
    claims: Mapping[str, Any],
    client_id: str,
    trusted: Collection[str],
    stage: str,
    *,
    with_azp: bool = True,
) -> tuple[str, ...]:
    """Step 3: ``aud`` (a string or an array of strings) holds the client, and every other
    audience is one the connection trusts; ``with_azp``, steps 4-5: with several audiences
    ``azp`` is required, and ``azp``, when present, is the client (a logout token is
    checked for ``aud`` only: Back-Channel Logout §2.6 step 3)."""
    aud = claims.get("aud")
    audiences = (aud,) if isinstance(aud, str) else aud
    if not isinstance(audiences, list | tuple) or not all(isinstance(a, str) for a in audiences):
        raise OidcError("claim_missing", "aud is missing or not strings", stage)
    if client_id not in audiences:
        raise OidcError("audience_mismatch", "the token is not for this client", stage)
    untrusted = [a for a in audiences if a != client_id and a not in trusted]
    if untrusted:
        raise OidcError(
            "untrusted_audience",
            "the token is also for an audience not trusted",
            stage,
            {"audience": untrusted[0][:200]},
        )
    if not with_azp:
        return tuple(audiences)
    azp = claims.get("azp")
    if azp is None and len(set(audiences)) > 1:
        raise OidcError("azp_missing", "a token for several audiences must name azp", stage)
    if azp is not None and azp != client_id:
        raise OidcError("azp_mismatch", "the token was issued to another party (azp)", stage)
    return tuple(audiences)


def numeric_date(claims: Mapping[str, Any], name: str, stage: str) -> datetime | None:
    """RFC 7519 §2 NumericDate: a JSON number of seconds (not a boolean, not a string)."""
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or abs(value) > 1e11:
        raise OidcError("malformed", f"{name} is not a NumericDate", stage)
    return datetime.fromtimestamp(value, UTC)


def check_times(
    claims: Mapping[str, Any],
    now: datetime,
    skew: timedelta | float,
    stage: str,
    *,
    require_exp: bool = True,
) -> tuple[datetime, datetime | None]:
    """Steps 9-10 (and RFC 7519 §4.1.5 for ``nbf``): ``exp`` not passed, ``iat`` not in
    the future, ``nbf`` reached, each within ``skew``. Returns (``iat``, ``exp``)."""
    tolerance = timedelta(seconds=seconds(skew))
    iat, exp, nbf = (numeric_date(claims, n, stage) for n in ("iat", "exp", "nbf"))
    if iat is None:
        raise OidcError("claim_missing", "iat is missing", stage)
    if exp is None and require_exp:
        raise OidcError("claim_missing", "exp is missing", stage)
    if exp is not None and now >= exp + tolerance:
        raise OidcError("expired", "the token has expired", stage, {"exp": exp.isoformat()})
    if iat > now + tolerance:
        raise OidcError(
            "issued_in_future", "the token is issued in the future", stage, {"iat": iat.isoformat()}
        )
    if nbf is not None and nbf > now + tolerance:
        raise OidcError("not_yet_valid", "the token is not valid yet (nbf)", stage)
    return iat, exp


def identifier(claims: Mapping[str, Any], name: str, stage: str, *, required: bool) -> str | None:
    """A ``sub``, ``sid`` or ``jti``: a non-empty string of at most
    :data:`MAX_IDENTIFIER` characters that any store can hold."""
    value = claims.get(name)
    if value is None and not required:
        return None
    if value is None:
        raise OidcError("claim_missing", f"{name} is missing", stage)
    if (
        not isinstance(value, str)
        or not 0 < len(value) <= MAX_IDENTIFIER
        or UNSTORABLE.search(value)
    ):
        raise OidcError("subject_invalid", f"{name} is not an identifier this accepts", stage)
    return value


def replay_key(issuer: str, token: str) -> str:
    """What identifies a token for replay detection: SHA-256 of the issuer and the signed
    part (header and payload), not of the whole string, since an ECDSA signature can be
    rewritten into another valid one (``s`` → ``n - s``) by anyone holding the token."""
    signed = token.rpartition(".")[0]
    return hashlib.sha256(f"{issuer}\x00{signed}".encode()).hexdigest()
