"""Proof Key for Code Exchange (RFC 7636), S256 only: ``plain`` gives nothing against an
attacker who reads the authorization request (§4.2, and RFC 9700 §2.1.1)."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
"""§4.1: ``code-verifier = 43*128unreserved``."""


def new_verifier() -> str:
    """A code verifier of 86 characters from 64 random bytes (§4.1 asks for at least 32
    bytes of entropy, base64url-encoded)."""
    return secrets.token_urlsafe(64)


def s256_challenge(verifier: str) -> str:
    """``BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))`` (§4.2), without padding."""
    if not _VERIFIER.fullmatch(verifier):
        raise ValueError("a code verifier is 43 to 128 unreserved characters (RFC 7636 §4.1)")
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
