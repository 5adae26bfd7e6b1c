"""Verifying a compact JWS (RFC 7515) the way ID and logout tokens need it, with no rule
left to a library default.

The header is read here before any key is looked at: ``alg`` must be on the allow-list and
asymmetric (never ``none``, never HMAC: RFC 8725 §3.1, §2.1), ``crit`` is refused since no
extension is understood (RFC 7515 §4.1.11), and the key comes only from the issuer's JWK Set
through the ``KeyResolver``, chosen by ``kid`` and ``alg``. The ``jwk``, ``jku``, ``x5u``
and ``x5c`` headers are never read (RFC 8725 §3.10: a token must not name its own key).
The signature is then checked over the signing input (RFC 7515 §5.2) by joserfc's
implementation of that one algorithm with that one key, and nothing else of joserfc's
header handling is used. Headers and
payload are JSON objects without repeated member names (RFC 7515 §5.2, RFC 7519 §7.2 step 10
allow refusing them; a parser keeping the last one would read what a verifier did not).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any

from joserfc.errors import JoseError
from joserfc.jws import JWSRegistry

from propylon.oidc.errors import OidcError
from propylon.oidc.jwks import ALGORITHMS, Key, fits_key

KeyResolver = Callable[[str | None, str], Awaitable[Key | None]]
"""``(kid, alg)`` → the issuer's key for them, or ``None``."""

_B64URL = re.compile(r"[A-Za-z0-9_-]*")


@dataclass(frozen=True)
class VerifiedJws:
    header: dict[str, Any]
    claims: dict[str, Any]


async def verify_jws(
    token: object,
    *,
    keys: KeyResolver,
    allowed_algs: Collection[str],
    max_bytes: int,
    stage: str,
) -> VerifiedJws:
    """The header and claims of a compact JWS whose signature an issuer key verifies."""
    if not isinstance(token, str) or not token.isascii():
        raise OidcError("malformed", "the token is not a compact JWS", stage)
    if len(token) > max_bytes:
        raise OidcError("too_large", f"the token is over {max_bytes} bytes", stage)
    parts = token.split(".")
    if len(parts) == 5:
        raise OidcError("encrypted_unsupported", "encrypted tokens (JWE) are not accepted", stage)
    if len(parts) != 3:
        raise OidcError("malformed", "the token is not a compact JWS", stage)
    header = _json_object(parts[0], "header", stage)
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ALGORITHMS or alg not in allowed_algs:
        raise OidcError(
            "alg_not_allowed", "the signature algorithm is not allowed", stage, {"alg": str(alg)}
        )
    if "crit" in header:
        raise OidcError("crit_unsupported", "a critical header is not understood", stage)
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise OidcError("malformed", "kid is not a string", stage)
    if not parts[2]:
        raise OidcError("signature_invalid", "the token has no signature", stage)
    key = await keys(kid, alg)
    if key is None:
        raise OidcError(
            "unknown_kid", "no key of the issuer verifies this token", stage, {"kid": kid}
        )
    if not fits_key(key, alg):
        raise OidcError("key_mismatch", "the key does not fit the algorithm", stage)
    claims = _json_object(parts[1], "payload", stage)
    signature = _decode(parts[2], "signature", stage)
    signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
    try:
        valid = JWSRegistry.algorithms[alg].verify(signing_input, signature, key)
    except (JoseError, ValueError, TypeError):
        valid = False
    if not valid:
        raise OidcError("signature_invalid", "the signature does not verify", stage)
    return VerifiedJws(header, claims)


def _decode(segment: str, what: str, stage: str) -> bytes:
    if not _B64URL.fullmatch(segment) or len(segment) % 4 == 1:
        raise OidcError("malformed", f"the {what} is not base64url", stage)
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except binascii.Error:
        raise OidcError("malformed", f"the {what} is not base64url", stage) from None


def _json_object(segment: str, what: str, stage: str) -> dict[str, Any]:
    raw = _decode(segment, what, stage)
    try:
        value = json.loads(raw, object_pairs_hook=_unique)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise OidcError("malformed", f"the {what} is not a JSON object", stage) from None
    if not isinstance(value, dict):
        raise OidcError("malformed", f"the {what} is not a JSON object", stage)
    return value


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise ValueError("repeated member name")
    return found
