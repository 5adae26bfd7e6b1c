"""Access tokens signed here with ``cryptography`` (an issuer of the tests' own), for the SDK's
unit tests that need no server."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from propylon.sdk.jwks import JwksCache
from propylon.sdk.verifier import TokenVerifier
from propylon.sdk.view import LocalView

ISSUER = "https://id.example.test"
AUDIENCE = "app_1"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int(n: int, size: int) -> str:
    return b64(n.to_bytes(size, "big"))


class Issuer:
    def __init__(self, kid: str = "k1", rsa_key: bool = False) -> None:
        self.kid = kid
        self.rsa = rsa_key
        self.key: Any = (
            rsa.generate_private_key(65537, 2048)
            if rsa_key
            else ec.generate_private_key(ec.SECP256R1())
        )

    def jwk(self) -> dict[str, Any]:
        pub = self.key.public_key().public_numbers()
        if self.rsa:
            n = pub.n
            return {
                "kty": "RSA",
                "kid": self.kid,
                "alg": "RS256",
                "use": "sig",
                "n": _int(n, (n.bit_length() + 7) // 8),
                "e": _int(pub.e, 3),
            }
        return {
            "kty": "EC",
            "crv": "P-256",
            "kid": self.kid,
            "alg": "ES256",
            "use": "sig",
            "x": _int(pub.x, 32),
            "y": _int(pub.y, 32),
        }

    def sign(self, claims: dict[str, Any], **header: Any) -> str:
        h = {"alg": "RS256" if self.rsa else "ES256", "kid": self.kid, "typ": "at+jwt", **header}
        signing_input = f"{b64(json.dumps(h).encode())}.{b64(json.dumps(claims).encode())}"
        if self.rsa:
            sig = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        else:
            der = self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
            r, s = decode_dss_signature(der)
            sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return f"{signing_input}.{b64(sig)}"


def claims(**over: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": ISSUER, "aud": AUDIENCE, "client_id": AUDIENCE, "sub": "usr_1", "sid": "ses_1",
        "grant_id": "grt_1", "org_id": "ten_1", "org_slug": "acme", "auth_method": "saml",
        "idp": "conn_1", "iat": now, "exp": now + 300, "scope": "openid email",
        "roles": ["viewer"], "programs": [], "entitlements_version": 1,
    }  # fmt: skip
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def verifier(*issuers: Issuer, view: LocalView | None = None) -> TokenVerifier:
    jwks = JwksCache(ISSUER + "/jwks")
    jwks.load({"keys": [i.jwk() for i in issuers]})
    return TokenVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks, view=view)
