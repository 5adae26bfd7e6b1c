"""The token request of the code flow (RFC 6749 §4.1.3, Core §3.1.3.1) with the client
authentication the connection uses (Core §9), and the token response checked (RFC 6749
§5.1, §5.2; Core §3.1.3.3)."""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote_plus

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from propylon.oidc.errors import OidcError
from propylon.oidc.metadata import ProviderMetadata
from propylon.outbound import Fetcher, OutboundError

AuthMethod = Literal["client_secret_basic", "client_secret_post", "private_key_jwt"]
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME_SECONDS = 60
"""A client assertion is used at once; RFC 7523 §3 lets the server refuse long-lived ones."""
_STAGE = "token"


@dataclass(frozen=True)
class ClientAuth:
    """How the client authenticates at the token endpoint (Core §9). ``private_key_pem``:
    an RSA (signs RS256) or P-256 EC (signs ES256) private key; ``private_key_id`` becomes
    the assertion's ``kid`` so the provider finds the registered key."""

    method: AuthMethod
    client_id: str
    client_secret: str | None = None
    private_key_pem: str | bytes | None = None
    private_key_id: str | None = None


@dataclass(frozen=True)
class TokenResponse:
    id_token: str
    access_token: str
    token_type: str
    expires_in: int | None = None
    scope: str | None = None
    refresh_token: str | None = None


async def exchange_code(
    meta: ProviderMetadata,
    auth: ClientAuth,
    *,
    code: str,
    redirect_uri: str,
    code_verifier: str,
    fetch: Fetcher,
    now: datetime | None = None,
) -> TokenResponse:
    """Redeem an authorization code. The POST is not redirected (a token request must not
    turn into a GET elsewhere); any answer but a token response is an :class:`OidcError`
    (``token_error`` with the provider's ``error`` code, or ``token_response_invalid``)."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": code_verifier,
    }
    headers = {"Accept": "application/json"}
    if auth.method == "client_secret_basic":
        headers["Authorization"] = basic_authorization(auth.client_id, _secret(auth))
    elif auth.method == "client_secret_post":
        form |= {"client_id": auth.client_id, "client_secret": _secret(auth)}
    else:
        assertion = client_assertion(auth, meta.token_endpoint, now or datetime.now(UTC))
        form |= {
            "client_id": auth.client_id,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        }
    try:
        response = await fetch(
            "POST", meta.token_endpoint, headers=headers, form=form, follow_redirects=False
        )
    except OutboundError as exc:
        raise OidcError("token_error", exc.detail, _STAGE, {"cause": exc.reason}) from None
    return _token_response(response.status, response.body)


def basic_authorization(client_id: str, client_secret: str) -> str:
    """RFC 6749 §2.3.1: id and secret are each form-urlencoded (Appendix B) before they are
    joined by ``:`` and base64-encoded, so a ``:`` or non-ASCII character survives."""
    pair = f"{quote_plus(client_id)}:{quote_plus(client_secret)}"
    return "Basic " + base64.b64encode(pair.encode("ascii")).decode("ascii")


def client_assertion(auth: ClientAuth, token_endpoint: str, now: datetime) -> str:
    """A ``private_key_jwt`` assertion (RFC 7523 §2.2, §3; Core §9): ``iss`` and ``sub`` the
    client id, ``aud`` the token endpoint, a fresh ``jti``, a short ``exp``."""
    if auth.private_key_pem is None:
        raise ValueError("private_key_jwt needs a private key")
    key = _signing_key(auth.private_key_pem)
    alg = "RS256" if isinstance(key, RSAKey) else "ES256"
    issued = int(now.timestamp())
    claims = {
        "iss": auth.client_id,
        "sub": auth.client_id,
        "aud": token_endpoint,
        "jti": secrets.token_urlsafe(24),
        "iat": issued,
        "exp": issued + ASSERTION_LIFETIME_SECONDS,
    }
    header: dict[str, Any] = {"alg": alg, "typ": "JWT"}
    if auth.private_key_id:
        header["kid"] = auth.private_key_id
    payload = json.dumps(claims, separators=(",", ":")).encode()
    return jws.serialize_compact(header, payload, key, algorithms=[alg])


def _signing_key(pem: str | bytes) -> RSAKey | ECKey:
    for kind in (RSAKey, ECKey):
        try:
            key = kind.import_key(pem)
        except (ValueError, TypeError, JoseError):
            continue
        if not key.is_private:
            raise ValueError("the client key is a public key")
        if isinstance(key, ECKey) and key.curve_name != "P-256":
            raise ValueError("an EC client key must be on P-256 (ES256)")
        return key
    raise ValueError("the client key is neither an RSA nor a P-256 EC private key")


def _secret(auth: ClientAuth) -> str:
    if auth.client_secret is None:
        raise ValueError(f"{auth.method} needs a client secret")
    return auth.client_secret


def _token_response(status: int, body: bytes) -> TokenResponse:
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        doc = None
    if not isinstance(doc, dict):
        raise OidcError(
            "token_response_invalid",
            f"the token endpoint answered {status} without a JSON object",
            _STAGE,
            {"status": status},
        )
    if status != 200 or "error" in doc:
        error = doc.get("error")
        error = error[:100] if isinstance(error, str) else "invalid_response"
        description = doc.get("error_description")
        detail = f"the token endpoint refused: {error}"
        if isinstance(description, str):
            detail += f" ({description[:300]})"
        raise OidcError("token_error", detail, _STAGE, {"status": status, "error": error})
    id_token, access_token, token_type = (
        doc.get(k) for k in ("id_token", "access_token", "token_type")
    )
    if not isinstance(id_token, str) or not isinstance(access_token, str):
        raise _invalid("the token response lacks id_token or access_token (Core §3.1.3.3)")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise _invalid("the token type is not Bearer (Core §3.1.3.3)")
    expires_in, scope, refresh = (doc.get(k) for k in ("expires_in", "scope", "refresh_token"))
    if isinstance(expires_in, str) and expires_in.isdigit() and len(expires_in) < 10:
        expires_in = int(expires_in)  # some providers send the number as a string
    if expires_in is not None and (type(expires_in) is not int or expires_in < 0):
        raise _invalid("expires_in is not a non-negative integer (RFC 6749 §5.1)")
    if not isinstance(scope, str | None) or not isinstance(refresh, str | None):
        raise _invalid("scope or refresh_token is not a string")
    return TokenResponse(id_token, access_token, token_type, expires_in, scope, refresh)


def _invalid(detail: str) -> OidcError:
    return OidcError("token_response_invalid", detail, _STAGE)
