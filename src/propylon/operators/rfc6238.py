"""TOTP: Time-Based One-Time Password Algorithm (RFC 6238, https://www.rfc-editor.org/rfc/rfc6238)
over HOTP (RFC 4226, https://www.rfc-editor.org/rfc/rfc4226). Pure: the time is passed in.

HMAC-SHA1, 6 digits, 30-second steps (§4.1 defaults, what authenticator apps implement).
A code is accepted for the current step and one step either side (§5.2, "one time step
network delay"), and only for a step after the last one this account used (§5.2: "the
verifier MUST NOT accept the second attempt of the OTP after the successful validation has
been issued for the first OTP"): the caller stores the step :func:`verify` returns."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from urllib.parse import quote, urlencode

STEP_SECONDS = 30
DIGITS = 6
WINDOW = 1
SECRET_BYTES = 20
"""160 bits, the length RFC 4226 §4 R6 recommends for the shared secret."""


def hotp(secret: bytes, counter: int, digits: int = DIGITS) -> str:
    """RFC 4226 §5.3: HMAC-SHA-1 of the 8-byte counter, dynamic truncation, modulo 10^d."""
    mac = hmac.new(secret, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    binary = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(binary % 10**digits).zfill(digits)


def step_at(unix_seconds: float) -> int:
    """RFC 6238 §4.2: T = floor((Current Unix time - T0) / X), T0 = 0."""
    return int(unix_seconds // STEP_SECONDS)


def totp(secret: bytes, unix_seconds: float) -> str:
    return hotp(secret, step_at(unix_seconds))


def verify(secret: bytes, code: str, unix_seconds: float, last_step: int | None) -> int | None:
    """The step ``code`` is valid for (within ±:data:`WINDOW` of now and after
    ``last_step``), or ``None``."""
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    now = step_at(unix_seconds)
    found = None
    for step in range(now - WINDOW, now + WINDOW + 1):
        # every candidate is computed and compared, so the time taken says nothing
        if hmac.compare_digest(hotp(secret, step), code) and found is None:
            found = step
    if found is None or (last_step is not None and found <= last_step):
        return None
    return found


def new_secret() -> bytes:
    return secrets.token_bytes(SECRET_BYTES)


def b32(secret: bytes) -> str:
    """The secret as authenticator apps take it typed in: base32, no padding."""
    return base64.b32encode(secret).decode().rstrip("=")


def otpauth_uri(issuer: str, account: str, secret: bytes) -> str:
    """The Key Uri Format authenticator apps read from a QR code or a link
    (``otpauth://totp/Issuer:account?secret=…&issuer=…``)."""
    label = quote(f"{issuer}:{account}", safe="@:")
    query = urlencode(
        {
            "secret": b32(secret),
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": DIGITS,
            "period": STEP_SECONDS,
        }
    )
    return f"otpauth://totp/{label}?{query}"
