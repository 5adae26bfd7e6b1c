"""HTTP-Redirect binding (SAML Bindings 2.0 §3.4).

Encoding (§3.4.4.1): the XML message is DEFLATE-compressed (RFC 1951, raw),
base64-encoded and URL-encoded into ``SAMLRequest``/``SAMLResponse``; an
optional ``RelayState`` follows; when signed, ``SigAlg`` is added and the
signature covers the exact octets ``SAMLRequest=…&RelayState=…&SigAlg=…`` as
they appear URL-encoded in the query string.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Sequence
from typing import Final
from urllib.parse import quote, unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from .dsig import PublicKey
from .errors import Reason, SamlValidationError

__all__ = [
    "RSA_SHA256",
    "decode_redirect_message",
    "encode_redirect_url",
    "verify_redirect_signature",
]

RSA_SHA256: Final = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
_SIG_ALGS: Final[dict[str, tuple[str, type[hashes.HashAlgorithm]]]] = {
    RSA_SHA256: ("rsa", hashes.SHA256),
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": ("rsa", hashes.SHA512),
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256": ("ec", hashes.SHA256),
}


def _q(value: str) -> str:
    return quote(value, safe="")


def encode_redirect_url(
    endpoint: str,
    message: bytes,
    *,
    param: str = "SAMLRequest",
    relay_state: str | None = None,
    signing_key: rsa.RSAPrivateKey | None = None,
) -> str:
    """Build the redirect URL for ``message`` (an AuthnRequest, LogoutRequest, ...)."""
    if param not in ("SAMLRequest", "SAMLResponse"):
        raise ValueError("param must be SAMLRequest or SAMLResponse")
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = compressor.compress(message) + compressor.flush()
    query = f"{param}={_q(base64.b64encode(deflated).decode())}"
    if relay_state is not None:
        query += f"&RelayState={_q(relay_state)}"
    if signing_key is not None:
        query += f"&SigAlg={_q(RSA_SHA256)}"
        signature = signing_key.sign(query.encode(), padding.PKCS1v15(), hashes.SHA256())
        query += f"&Signature={_q(base64.b64encode(signature).decode())}"
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


def decode_redirect_message(value: str, *, max_bytes: int = 64 * 1024) -> bytes:
    """Inflate an already URL-decoded ``SAMLRequest``/``SAMLResponse`` value.

    Output is bounded by ``max_bytes`` (a DEFLATE bomb is refused, not expanded).
    """
    try:
        deflated = base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SamlValidationError(Reason.MALFORMED_BASE64, str(exc)) from exc
    inflater = zlib.decompressobj(-15)
    try:
        out = inflater.decompress(deflated, max_bytes + 1)
    except zlib.error as exc:
        raise SamlValidationError(Reason.MESSAGE_INVALID, f"bad DEFLATE data: {exc}") from exc
    if len(out) > max_bytes or inflater.unconsumed_tail:
        raise SamlValidationError(Reason.TOO_LARGE, "inflated message too large")
    return out


def _raw_params(query_string: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for part in query_string.split("&"):
        key, _, value = part.partition("=")
        if key in params:
            raise SamlValidationError(Reason.MESSAGE_INVALID, f"duplicate parameter {key}")
        params[key] = value
    return params


def verify_redirect_signature(query_string: str, keys: Sequence[PublicKey]) -> dict[str, str]:
    """Verify a signed HTTP-Redirect query string (Bindings §3.4.4.1).

    ``query_string`` must be the raw, still URL-encoded query as received: the
    signature covers the original encoding. Returns the URL-decoded parameters.
    """
    raw = _raw_params(query_string)
    message_key = "SAMLRequest" if "SAMLRequest" in raw else "SAMLResponse"
    if message_key not in raw or "Signature" not in raw or "SigAlg" not in raw:
        raise SamlValidationError(Reason.SIGNATURE_MISSING, "unsigned redirect message")
    sig_alg = unquote(raw["SigAlg"])
    if sig_alg not in _SIG_ALGS:
        raise SamlValidationError(Reason.UNSUPPORTED_ALGORITHM, sig_alg)
    signed = f"{message_key}={raw[message_key]}"
    if "RelayState" in raw:
        signed += f"&RelayState={raw['RelayState']}"
    signed += f"&SigAlg={raw['SigAlg']}"
    try:
        signature = base64.b64decode(unquote(raw["Signature"]), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SamlValidationError(Reason.SIGNATURE_MALFORMED, "Signature not base64") from exc
    kind, hash_cls = _SIG_ALGS[sig_alg]
    for key in keys:
        try:
            if kind == "rsa" and isinstance(key, rsa.RSAPublicKey):
                key.verify(signature, signed.encode(), padding.PKCS1v15(), hash_cls())
            elif kind == "ec" and isinstance(key, ec.EllipticCurvePublicKey):
                key.verify(signature, signed.encode(), ec.ECDSA(hash_cls()))
            else:
                continue
        except InvalidSignature:
            continue
        return {k: unquote(v) for k, v in raw.items()}
    raise SamlValidationError(Reason.SIGNATURE_INVALID, "redirect signature")
