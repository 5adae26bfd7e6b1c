"""Typed, prefixed identifiers, all declared here (``tenant_…``, ``user_…``, ``grp_…``).

An id is 16 random bytes in Crockford-free lowercase base32 behind its prefix, so ids never
collide across kinds and a leaked id says what it is, not which tenant owns it.
"""

from __future__ import annotations

import base64
import secrets
from enum import StrEnum

from propylon.text import UNSTORABLE

MAX_CHARS = 64
"""The size of every id column (``String(64)`` in ``db/tables.py``): a longer id names nothing,
and an id from a URL is checked against it before it reaches a query or an audit row."""


def plausible(value: str) -> bool:
    """Whether ``value`` could be a stored id: 1 to :data:`MAX_CHARS` characters, none of them
    NUL or a lone surrogate (``propylon.text``)."""
    return 0 < len(value) <= MAX_CHARS and UNSTORABLE.search(value) is None


class Kind(StrEnum):
    TENANT = "tenant"
    DOMAIN = "dom"
    DIRECTORY = "dir"
    SCIM_TOKEN = "stok"
    API_KEY = "key"
    USER = "user"
    GROUP = "grp"
    EVENT = "evt"
    AUDIT = "aud"
    SAML_CONNECTION = "conn"
    SAML_REQUEST = "req"
    OIDC_CONNECTION = "oidc"
    WEBHOOK_ENDPOINT = "whep"
    CATALOG_ENTRY = "ent"
    RULE_VERSION = "erv"
    OPERATOR = "op"
    PORTAL_LINK = "plk"
    PORTAL_SESSION = "psn"
    CONNECTION_TEST = "ctest"


def new_id(kind: Kind) -> str:
    raw = base64.b32encode(secrets.token_bytes(15)).decode("ascii").lower()
    return f"{kind.value}_{raw}"


def new_secret(prefix: str, nbytes: int = 32) -> str:
    """A bearer secret: ``prefix`` + 256 random bits, URL-safe. Shown once, stored hashed."""
    return f"{prefix}_{secrets.token_urlsafe(nbytes)}"
