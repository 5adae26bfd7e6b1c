"""Signature keys from a JWK Set (RFC 7517 §5) and which one verifies a given JWS.

Only public RSA, EC and OKP signature keys are taken: a symmetric (``oct``) member is never a
key here, so a token cannot be "verified" with HMAC keyed by bytes anyone can read (the
public key confusion of RFC 8725 §2.1). Only the public parameters are imported, whatever
else a member carries. A key must fit the algorithm: its type and curve (RFC 7518 §3.1,
RFC 8037 §3.1), its ``alg``, ``use`` and ``key_ops`` when present (RFC 7517 §4.2-4.4), and
an RSA key has at least 2048 bits (RFC 7518 §3.3).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from joserfc.jwk import ECKey, OKPKey, RSAKey

Key = RSAKey | ECKey | OKPKey

ALGORITHMS: Mapping[str, tuple[str, str | None]] = {
    "RS256": ("RSA", None),
    "RS384": ("RSA", None),
    "RS512": ("RSA", None),
    "PS256": ("RSA", None),
    "PS384": ("RSA", None),
    "PS512": ("RSA", None),
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "ES512": ("EC", "P-521"),
    "EdDSA": ("OKP", None),
    "Ed25519": ("OKP", "Ed25519"),
}
"""Every algorithm a signature may use, with the key type (and curve) it needs. Nothing
symmetric and not ``none``: an allow-list setting can only narrow this."""

_OKP_CURVES = frozenset({"Ed25519", "Ed448"})
_EC_CURVES = frozenset({"P-256", "P-384", "P-521"})
MIN_RSA_BITS = 2048


@dataclass(frozen=True)
class JwkEntry:
    kid: str | None
    alg: str | None
    kty: str
    crv: str | None
    key: Key


def parse_jwks(document: Any) -> list[JwkEntry]:
    """The usable signature keys of a JWK Set; members that are not (symmetric, private
    only, encryption keys, malformed, too weak) are left out, so one odd member does not
    make the others unusable. Raises ``ValueError`` when the document is no JWK Set."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWK Set: no keys array")
    entries = []
    for member in document["keys"]:
        entry = _entry(member) if isinstance(member, dict) else None
        if entry is not None:
            entries.append(entry)
    return entries


def select_key(entries: list[JwkEntry], kid: str | None, alg: str) -> Key | None:
    """The one key that fits ``alg`` and carries ``kid``; without a ``kid``, the only key
    that fits (Core §10.1: with several keys a JWS names its ``kid``). Several candidates
    are ambiguous: none is chosen."""
    fitting = [e for e in entries if fits(e, alg) and (kid is None or e.kid == kid)]
    return fitting[0].key if len(fitting) == 1 else None


def fits(entry: JwkEntry, alg: str) -> bool:
    need = ALGORITHMS.get(alg)
    if need is None or entry.kty != need[0]:
        return False
    if need[1] is not None and entry.crv != need[1]:
        return False
    return entry.alg is None or entry.alg == alg


def _entry(member: dict[str, Any]) -> JwkEntry | None:
    if member.get("use", "sig") != "sig":
        return None
    ops = member.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        return None
    kid, alg = member.get("kid"), member.get("alg")
    if not isinstance(kid, str | None) or not isinstance(alg, str | None):
        return None
    try:
        key = _public_key(member)
    except (ValueError, TypeError, KeyError):
        return None
    if key is None:
        return None
    crv = member.get("crv") if member.get("kty") in ("EC", "OKP") else None
    return JwkEntry(kid, alg, str(member["kty"]), crv, key)


def _public_key(member: dict[str, Any]) -> Key | None:
    kty = member.get("kty")
    if kty == "RSA":
        n, e = _text(member, "n"), _text(member, "e")
        if _bits(n) < MIN_RSA_BITS:
            return None
        return RSAKey.import_key({"kty": "RSA", "n": n, "e": e})
    if kty == "EC" and member.get("crv") in _EC_CURVES:
        return ECKey.import_key(
            {"kty": "EC", "crv": member["crv"], "x": _text(member, "x"), "y": _text(member, "y")}
        )
    if kty == "OKP" and member.get("crv") in _OKP_CURVES:
        return OKPKey.import_key({"kty": "OKP", "crv": member["crv"], "x": _text(member, "x")})
    return None


def _text(member: dict[str, Any], name: str) -> str:
    value = member[name]
    if not isinstance(value, str):
        raise TypeError(f"{name} is not a string")
    return value


def _bits(n: str) -> int:
    raw = base64.urlsafe_b64decode(n + "=" * (-len(n) % 4))
    return int.from_bytes(raw, "big").bit_length()


def fits_key(key: Key, alg: str) -> bool:
    """Whether a parsed key's type and curve are what ``alg`` needs (checked again at the
    signature, whatever a resolver returned)."""
    need = ALGORITHMS.get(alg)
    if need is None:
        return False
    kty, crv = need
    if kty == "RSA":
        return isinstance(key, RSAKey)
    if kty == "EC":
        return isinstance(key, ECKey) and key.curve_name == crv
    return (
        isinstance(key, OKPKey)
        and key.curve_name in _OKP_CURVES
        and (crv is None or key.curve_name == crv)
    )
