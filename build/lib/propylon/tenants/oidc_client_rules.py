"""What an OIDC connection's settings must be before they are stored: the issuer, the client
registration at the OpenID Provider and its credential, the scopes and audiences.

Every value comes from an operator (CLI or management API) and is bounded and checked here,
so the sign-in only ever reads settings it can use.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc.jwk import ECKey, RSAKey

from propylon.errors import InvalidInput

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")
"""Token endpoint client authentication methods (OpenID Connect Core §9)."""
SECRET_METHODS = ("client_secret_basic", "client_secret_post")
DEFAULT_SCOPES = ("openid", "email", "profile")
MAX_ISSUER = 1024
MAX_CLIENT_ID = 255
MAX_SECRET = 2048
MAX_KEY_PEM = 16384
MAX_SCOPES = 32
MAX_SCOPE = 128
MAX_AUDIENCES = 16
MAX_AUDIENCE = 255
MIN_RSA_BITS = 2048

_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
"""RFC 6749 §3.3: ``scope-token = 1*( %x21 / %x23-5B / %x5D-7E )``."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_CURVES = {"secp256r1": "ES256"}
"""EC keys the client assertion signer takes (``oidc/token_client.py``: ES256 only)."""


def printable(value: str, what: str, limit: int) -> str:
    """``value`` if it is 1 to ``limit`` characters with no control character, no NUL, no lone
    surrogate and no surrounding whitespace."""
    if not 0 < len(value) <= limit:
        raise InvalidInput(f"{what} must be 1 to {limit} characters")
    if _CONTROL.search(value) or value != value.strip():
        raise InvalidInput(f"{what} holds control characters or surrounding spaces")
    return value


@dataclass(frozen=True)
class IssuerUrl:
    issuer: str
    host: str
    plain_http: bool


def issuer_url(value: str) -> IssuerUrl:
    """The issuer identifier as given (compared exactly, never normalised: Discovery §4.3):
    an ``https`` URL with a host and no user info, query or fragment (Core §2, ``iss``), or
    ``http`` (only for a private host: ``admin/oidc_connections.py check_issuer``)."""
    printable(value, "the issuer", MAX_ISSUER)
    if any(c in value for c in " ?#\\"):
        raise InvalidInput("the issuer is a URL with no query, fragment or spaces")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise InvalidInput("the issuer is not a URL") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidInput("the issuer must be an https URL with a host")
    if "@" in parts.netloc or port == 0:
        raise InvalidInput("the issuer URL must not carry user info or port 0")
    return IssuerUrl(value, parts.hostname, parts.scheme == "http")


def client_id(value: str) -> str:
    return printable(value, "the client id", MAX_CLIENT_ID)


def client_secret(value: str) -> str:
    return printable(value, "the client secret", MAX_SECRET)


@dataclass(frozen=True)
class ClientKey:
    """The key ``private_key_jwt`` client assertions are signed with (RFC 7523 §2.2)."""

    pem: str
    """Unencrypted PKCS #8 PEM, as sealed at rest."""
    alg: str
    public_jwk: dict[str, Any]
    """What the IdP admin registers; ``kid`` is its RFC 7638 thumbprint."""


def client_key(pem: str) -> ClientKey:
    """An unencrypted RSA (at least 2048 bits: RS256) or EC P-256 (ES256) private key in PEM;
    anything else is refused."""
    if not 0 < len(pem) <= MAX_KEY_PEM:
        raise InvalidInput(f"the private key must be a PEM file under {MAX_KEY_PEM} characters")
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError, UnicodeEncodeError):
        raise InvalidInput("the private key must be an unencrypted PEM private key") from None
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size >= MIN_RSA_BITS:
        alg = "RS256"
    elif isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in _CURVES:
        alg = _CURVES[key.curve.name]
    else:
        raise InvalidInput(
            f"the private key must be RSA of at least {MIN_RSA_BITS} bits or EC P-256"
        )
    normalised = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    jwk = (RSAKey if alg == "RS256" else ECKey).import_key(normalised)
    public = {**jwk.as_dict(private=False), "use": "sig", "alg": alg, "kid": jwk.thumbprint()}
    return ClientKey(normalised, alg, public)


def auth_method(method: str | None, *, has_secret: bool, has_key: bool) -> str:
    """The token endpoint authentication method, consistent with the credential: a key means
    ``private_key_jwt``, a secret one of the secret methods (Core §9)."""
    if has_secret and has_key:
        raise InvalidInput("give a client secret or a private key, not both")
    chosen = method or ("private_key_jwt" if has_key else "client_secret_basic")
    if chosen not in AUTH_METHODS:
        raise InvalidInput(f"auth_method must be one of {', '.join(AUTH_METHODS)}")
    if chosen == "private_key_jwt" and not has_key:
        raise InvalidInput("private_key_jwt needs a private key (--private-key-file)")
    if chosen in SECRET_METHODS and not has_secret:
        raise InvalidInput(f"{chosen} needs a client secret (--client-secret)")
    return chosen


def scopes(values: Sequence[str] | None) -> list[str]:
    """The scopes requested, ``openid`` always first (Core §3.1.2.1), each an RFC 6749 §3.3
    scope token; none given: ``openid email profile``."""
    out = ["openid"]
    for value in values or DEFAULT_SCOPES:
        if not (0 < len(value) <= MAX_SCOPE and _SCOPE_TOKEN.fullmatch(value)):
            raise InvalidInput(f"scope {value[:MAX_SCOPE]!r} is not a scope token (RFC 6749 §3.3)")
        if value not in out:
            out.append(value)
    if len(out) > MAX_SCOPES:
        raise InvalidInput(f"at most {MAX_SCOPES} scopes")
    return out


def audiences(values: Sequence[str] | None, client: str) -> list[str]:
    """Audiences an ID token may name beside the client (Core §3.1.3.7 point 3)."""
    out: list[str] = []
    for value in values or ():
        printable(value, "a trusted audience", MAX_AUDIENCE)
        if value != client and value not in out:
            out.append(value)
    if len(out) > MAX_AUDIENCES:
        raise InvalidInput(f"at most {MAX_AUDIENCES} trusted audiences")
    return out
