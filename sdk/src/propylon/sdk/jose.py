"""The one JWS check of the SDK, on ``cryptography`` directly (RFC 7515 compact serialization,
RFC 7518 §3.3 RS256 and §3.4 ES256, RFC 7517 keys).

Only the algorithms of the allow-list are accepted; the key is chosen by ``kid`` and must be of
the algorithm's type (never the algorithm the token names for a key of another kind: RFC 8725
§2.1, §3.1). Parsed protected headers are kept by their encoded form (every token of one key
shares it); the signature is checked on every call.
"""

from __future__ import annotations

import binascii
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from propylon.sdk.errors import InvalidToken

ALGORITHMS = ("ES256", "RS256")
MAX_TOKEN_CHARS = 8192
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_SHA256 = hashes.SHA256()
_PKCS1 = padding.PKCS1v15()
_HEADERS_KEPT = 256


_URLSAFE = bytes.maketrans(b"-_", b"+/")


def b64url_decode(part: str | bytes) -> bytes:
    """Base64url without padding (RFC 7515 §2), strictly: any other character (the standard
    alphabet's ``+`` and ``/``, padding, spaces) makes an invalid token."""
    try:
        raw = part.encode("ascii") if isinstance(part, str) else part
        if b"+" in raw or b"/" in raw or b"=" in raw:
            raise ValueError("not base64url")
        return binascii.a2b_base64(
            raw.translate(_URLSAFE) + b"=" * (-len(raw) % 4), strict_mode=True
        )
    except (binascii.Error, ValueError) as exc:
        raise InvalidToken("malformed") from exc


def b64url_int(value: str) -> int:
    return int.from_bytes(b64url_decode(value), "big")


@dataclass(frozen=True)
class VerifyingKey:
    """A public key of the issuer's JWK Set usable for one algorithm."""

    kid: str
    alg: str
    key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey

    @classmethod
    def from_jwk(cls, jwk: dict[str, Any]) -> VerifyingKey | None:
        """The key, or ``None`` for one the SDK does not use (another type, curve, use, or a
        short RSA modulus: RFC 7518 §3.3 requires 2048 bits)."""
        kid, kty = jwk.get("kid"), jwk.get("kty")
        if not isinstance(kid, str) or jwk.get("use", "sig") != "sig":
            return None
        try:
            if kty == "EC" and jwk.get("crv") == "P-256" and jwk.get("alg", "ES256") == "ES256":
                numbers = ec.EllipticCurvePublicNumbers(
                    b64url_int(jwk["x"]), b64url_int(jwk["y"]), ec.SECP256R1()
                )
                return cls(kid, "ES256", numbers.public_key())
            if kty == "RSA" and jwk.get("alg", "RS256") == "RS256":
                rsa_key = rsa.RSAPublicNumbers(b64url_int(jwk["e"]), b64url_int(jwk["n"]))
                public = rsa_key.public_key()
                return cls(kid, "RS256", public) if public.key_size >= 2048 else None
        except (KeyError, TypeError, ValueError, InvalidToken):
            return None
        return None

    def verify(self, signature: bytes, signing_input: bytes) -> bool:
        key = self.key
        try:
            if isinstance(key, ec.EllipticCurvePublicKey):
                if len(signature) != 64:  # RFC 7518 §3.4: R and S, 32 octets each
                    return False
                der = encode_dss_signature(
                    int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
                )
                key.verify(der, signing_input, _ECDSA_SHA256)
            else:
                key.verify(signature, signing_input, _PKCS1, _SHA256)
        except InvalidSignature:
            return False
        return True


_headers: dict[str, dict[str, Any]] = {}


def split(token: str) -> tuple[dict[str, Any], str, bytes, bytes]:
    """The protected header, the payload segment (still encoded), the signature and the
    signing input of a compact JWS, or :class:`InvalidToken`. Nothing here is trusted yet."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
        raise InvalidToken("malformed")
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("malformed")
    h, p, s = parts
    header = _headers.get(h)
    if header is None:
        try:
            header = json.loads(b64url_decode(h))
        except ValueError as exc:
            raise InvalidToken("malformed") from exc
        if not isinstance(header, dict):
            raise InvalidToken("malformed")
        if len(_headers) >= _HEADERS_KEPT:
            _headers.clear()
        _headers[h] = header
    try:
        signing_input = token[: len(h) + 1 + len(p)].encode("ascii")
    except UnicodeEncodeError as exc:
        raise InvalidToken("malformed") from exc
    return header, p, b64url_decode(s), signing_input


def claims_of(payload: str) -> dict[str, Any]:
    """The JSON object of a payload segment (RFC 7519 §7.2 step 10)."""
    try:
        claims = json.loads(b64url_decode(payload))
    except ValueError as exc:
        raise InvalidToken("malformed") from exc
    if not isinstance(claims, dict):
        raise InvalidToken("malformed")
    return claims
