"""Bearer credentials: 256 random bits shown once, stored as SHA-256.

A slow password hash (argon2) protects low-entropy secrets; these are high-entropy random
tokens, so a single SHA-256 is preimage-safe and keeps per-request authentication to one
indexed lookup.
"""

from __future__ import annotations

import hashlib
import hmac

from propylon.ids import new_secret


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)


def mint(prefix: str) -> tuple[str, str]:
    """Return ``(secret, its hash)``."""
    secret = new_secret(prefix)
    return secret, hash_secret(secret)
