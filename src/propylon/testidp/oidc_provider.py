"""The test IdP's OpenID Provider, pure: discovery (OpenID Connect Discovery 1.0 §3), the JWK
Set (RFC 7517), authorization codes and access tokens, ID tokens per scenario (Core §2,
§3.1.3.6) and the client and PKCE checks of the token endpoint (RFC 6749 §2.3.1, §4.1.3;
RFC 7636 §4.6).

Nothing is stored: a code and an access token are the grant itself, sealed (AES-256-GCM)
under a subkey of the server secret, with an expiry; the caller makes a code single-use by
remembering its ``jti`` in the accelerator. Clients are registered implicitly: an id that
starts with ``test-client-`` whose secret is :func:`propylon.testidp.identity.test_client_secret`.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import os
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from joserfc import jwt
from joserfc.jwk import RSAKey

from propylon.oidc.rfc7636 import s256_challenge
from propylon.testidp.identity import CLIENT_PREFIX
from propylon.testidp.keys import KeyPair, TestIdpKeys
from propylon.testidp.saml_response import Person, opaque_subject
from propylon.testidp.scenarios import SKEW, WRONG_AUDIENCE, Scenario

__all__ = [
    "CODE_SECONDS",
    "Grant",
    "TokenError",
    "discovery",
    "id_token",
    "jwks",
    "open_sealed",
    "pkce_matches",
    "redeem",
    "seal",
    "userinfo_claims",
]

CODE_SECONDS: Final = 60
TOKEN_SECONDS: Final = 300
SCOPES: Final = ("openid", "email", "profile", "groups")


def kid_of(pair: KeyPair) -> str:
    return str(RSAKey.import_key(pair.key).thumbprint())


def discovery(issuer: str) -> dict[str, Any]:
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "jwks_uri": f"{issuer}/jwks",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": list(SCOPES),
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "email",
            "email_verified", "name", "given_name", "family_name", "department", "groups",
        ],
        "authorization_response_iss_parameter_supported": True,
    }  # fmt: skip


def jwks(keys: TestIdpKeys) -> dict[str, Any]:
    """The JWK Set: the signing key only (never the ``wrong_key`` scenario's)."""
    public = RSAKey.import_key(keys.oidc.key).as_dict(private=False)
    return {"keys": [{**public, "kid": kid_of(keys.oidc), "use": "sig", "alg": "RS256"}]}


@dataclass(frozen=True)
class Grant:
    """What a code carries from the authorization endpoint to the token endpoint."""

    jti: str
    client_id: str
    redirect_uri: str
    nonce: str | None
    code_challenge: str | None
    scenario: str
    email: str
    first_name: str
    last_name: str
    department: str
    groups: list[str]
    auth_time: int
    exp: int

    @property
    def person(self) -> Person:
        return Person(
            self.email, self.first_name, self.last_name, self.department, tuple(self.groups)
        )

    @staticmethod
    def of(
        person: Person,
        scenario: Scenario,
        *,
        client_id: str,
        redirect_uri: str,
        nonce: str | None,
        code_challenge: str | None,
        now: datetime,
    ) -> Grant:
        return Grant(
            jti=secrets.token_urlsafe(16),
            client_id=client_id,
            redirect_uri=redirect_uri,
            nonce=nonce,
            code_challenge=code_challenge,
            scenario=scenario.value,
            email=person.email,
            first_name=person.first_name,
            last_name=person.last_name,
            department=person.department,
            groups=list(person.groups),
            auth_time=int(now.timestamp()),
            exp=int(now.timestamp()) + CODE_SECONDS,
        )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def seal(key: bytes, purpose: str, value: dict[str, Any]) -> str:
    """``value`` sealed for ``purpose`` (``code`` or ``access``): a URL-safe string."""
    nonce = os.urandom(12)
    body = json.dumps(value, separators=(",", ":")).encode()
    return _b64(nonce + AESGCM(key).encrypt(nonce, body, purpose.encode()))


def open_sealed(key: bytes, purpose: str, text: str, now: datetime) -> dict[str, Any] | None:
    """The value :func:`seal` sealed, unless altered, of another purpose or expired."""
    if not text or len(text) > 8192:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        body = AESGCM(key).decrypt(raw[:12], raw[12:], purpose.encode())
        value = json.loads(body)
    except (binascii.Error, ValueError, InvalidTag):
        return None
    if not isinstance(value, dict) or int(value.get("exp", 0)) <= now.timestamp():
        return None
    return value


def grant_of(value: dict[str, Any]) -> Grant | None:
    try:
        return Grant(**value)
    except TypeError:
        return None


def pkce_matches(challenge: str | None, verifier: str | None) -> bool:
    """RFC 7636 §4.6 (S256); no challenge: no verifier may be sent either."""
    if challenge is None:
        return verifier is None
    if not verifier:
        return False
    try:
        computed = s256_challenge(verifier)
    except ValueError:  # not a verifier (§4.1)
        return False
    return hmac.compare_digest(computed, challenge)


def userinfo_claims(issuer: str, person: Person, scenario: Scenario) -> dict[str, Any]:
    """The person's claims (Core §5.1); ``missing_email`` leaves the address out."""
    person = person.for_scenario(scenario)
    claims: dict[str, Any] = {"sub": opaque_subject(issuer, person.email)}
    if scenario is not Scenario.MISSING_EMAIL:
        claims |= {"email": person.email, "email_verified": True, "name": person.display_name}
    if person.first_name:
        claims["given_name"] = person.first_name
    if person.last_name:
        claims["family_name"] = person.last_name
    if person.department:
        claims["department"] = person.department
    if person.groups:
        claims["groups"] = list(person.groups)
    return claims


def id_token(issuer: str, grant: Grant, keys: TestIdpKeys, now: datetime) -> str:
    """The ID token for ``grant`` (its scenario applied), signed RS256."""
    scenario = Scenario(grant.scenario)
    issued = now
    if scenario is Scenario.CLOCK_SKEW:
        issued = now + SKEW
    elif scenario is Scenario.EXPIRED:
        issued = now - SKEW - timedelta(seconds=TOKEN_SECONDS)
    claims = userinfo_claims(issuer, grant.person, scenario) | {
        "iss": issuer,
        "aud": WRONG_AUDIENCE if scenario is Scenario.WRONG_AUDIENCE else grant.client_id,
        "iat": int(issued.timestamp()),
        "exp": int(issued.timestamp()) + TOKEN_SECONDS,
        "auth_time": grant.auth_time,
    }
    if scenario is Scenario.CLOCK_SKEW:
        claims["nbf"] = claims["iat"]
    if grant.nonce is not None:
        claims["nonce"] = (
            secrets.token_urlsafe(16) if scenario is Scenario.NONCE_MISMATCH else grant.nonce
        )
    signer = keys.wrong if scenario is Scenario.WRONG_KEY else keys.oidc
    header = {"alg": "RS256", "kid": kid_of(keys.oidc), "typ": "JWT"}
    return str(jwt.encode(header, claims, RSAKey.import_key(signer.key)))


def grant_dict(grant: Grant) -> dict[str, Any]:
    return asdict(grant)


class TokenError(Exception):
    """A token request refused (RFC 6749 §5.2): ``error`` and the HTTP status."""

    def __init__(self, error: str, status: int = 400) -> None:
        super().__init__(error)
        self.error = error
        self.status = status


@dataclass(frozen=True)
class TokenKeys:
    """What the token endpoint signs and seals with."""

    code: bytes
    access: bytes
    signing: TestIdpKeys


async def redeem(
    form: Mapping[str, str],
    credentials: tuple[str, str] | None,
    *,
    secret_of: Callable[[str], str],
    keys: TokenKeys,
    issuer: str,
    now: datetime,
    first_use: Callable[[str, int], Awaitable[bool]],
) -> dict[str, Any]:
    """The token endpoint (RFC 6749 §4.1.3, Core §3.1.3): a code for ID and access tokens.

    ``credentials``: the client's id and secret (``client_secret_basic`` or ``_post``);
    ``secret_of``: a client's expected secret; ``first_use(key, seconds)``: true the first
    time a code is seen (a code redeems once). Raises :class:`TokenError`."""
    if credentials is None or not credentials[0].startswith(CLIENT_PREFIX):
        raise TokenError("invalid_client", 401)
    client_id, secret = credentials
    if not hmac.compare_digest(secret.encode(), secret_of(client_id).encode()):
        raise TokenError("invalid_client", 401)
    if form.get("grant_type") != "authorization_code":
        raise TokenError("unsupported_grant_type")
    opened = open_sealed(keys.code, "code", form.get("code", ""), now)
    grant = grant_of(opened) if opened else None
    if (
        grant is None
        or grant.client_id != client_id
        or grant.redirect_uri != form.get("redirect_uri")
        or not pkce_matches(grant.code_challenge, form.get("code_verifier"))
        or not await first_use(f"test-idp:code:{grant.jti}", CODE_SECONDS * 2)
    ):
        raise TokenError("invalid_grant")
    claims = userinfo_claims(issuer, grant.person, Scenario(grant.scenario))
    expires = int(now.timestamp()) + TOKEN_SECONDS
    return {
        "access_token": seal(keys.access, "access", {"claims": claims, "exp": expires}),
        "token_type": "Bearer",
        "expires_in": TOKEN_SECONDS,
        "id_token": id_token(issuer, grant, keys.signing, now),
        "scope": " ".join(SCOPES),
    }
