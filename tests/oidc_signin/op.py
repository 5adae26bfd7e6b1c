"""A hostile-capable OpenID Provider for the relying-party tests: real HTTP on loopback (the
upstream IdP Propylon talks to, not our stack). It serves discovery, JWKS, an authorization
endpoint that redirects back with ``code``, ``state`` and ``iss`` (RFC 9207), a token
endpoint that checks the code once and the PKCE verifier (RFC 7636 §4.6) and answers with
whatever ID token the test mints, and an end-session endpoint. Tokens are built here by hand
so a test can craft every defect a real attacker could."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jws
from joserfc.jwk import ECKey, RSAKey


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64json(doc: dict[str, Any]) -> str:
    return b64(json.dumps(doc, separators=(",", ":")).encode())


@dataclass
class Authorized:
    """What the authorization endpoint received for one code."""

    client_id: str
    redirect_uri: str
    state: str
    nonce: str | None
    code_challenge: str
    prompt: str | None
    login_hint: str | None
    used: bool = False


Minter = Callable[["LoopbackOp", Authorized], str]


@dataclass
class LoopbackOp:
    """One OP on loopback. ``claims`` are the default ID token claims (besides ``iss``,
    ``aud``, ``nonce`` and times); ``mint`` replaces the whole ID token when set."""

    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, private=True))
    kid: str = field(default_factory=lambda: "k-" + secrets.token_hex(4))
    claims: dict[str, Any] = field(default_factory=dict)
    mint: Minter | None = None
    iss_override: str | None = None
    """An ``iss`` the authorization response carries instead of this OP's (mix-up)."""
    with_end_session: bool = True
    codes: dict[str, Authorized] = field(default_factory=dict)
    token_requests: list[dict[str, list[str]]] = field(default_factory=list)
    jwks_hits: int = 0
    extra_keys: list[dict[str, Any]] = field(default_factory=list)
    userinfo: dict[str, Any] = field(default_factory=dict)
    """What the UserInfo endpoint answers to an access token this OP issued."""
    access_tokens: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        op = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                op._answer(self, b"")

            def do_POST(self) -> None:
                op._answer(self, self.rfile.read(int(self.headers.get("Content-Length") or 0)))

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- tokens ----------------------------------------------------------------------------

    def public_jwk(self) -> dict[str, Any]:
        return {**self.key.as_dict(private=False), "kid": self.kid, "use": "sig", "alg": "RS256"}

    def sign(
        self, claims: dict[str, Any], *, header: dict[str, Any] | None = None, key: Any = None
    ) -> str:
        protected = {"alg": "RS256", "kid": self.kid, "typ": "JWT", **(header or {})}
        payload = json.dumps(claims).encode()
        return jws.serialize_compact(protected, payload, key or self.key)

    def id_claims(self, auth: Authorized | None, **over: Any) -> dict[str, Any]:
        now = int(time.time())
        doc: dict[str, Any] = {
            "iss": self.issuer,
            "aud": auth.client_id if auth else "",
            "iat": now,
            "exp": now + 300,
            "auth_time": now,
            "jti": secrets.token_hex(8),
            "sid": "op-sid-" + secrets.token_hex(4),
            **self.claims,
        }
        if auth is not None and auth.nonce is not None:
            doc["nonce"] = auth.nonce
        doc.update(over)
        return {k: v for k, v in doc.items() if v is not None}

    def logout_token(self, client_id: str, **over: Any) -> str:
        now = int(time.time())
        doc: dict[str, Any] = {
            "iss": self.issuer,
            "aud": client_id,
            "iat": now,
            "exp": now + 120,
            "jti": secrets.token_hex(8),
            "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
        }
        doc.update(over)
        header = {"typ": "logout+jwt"}
        return self.sign({k: v for k, v in doc.items() if v is not None}, header=header)

    # -- HTTP ------------------------------------------------------------------------------

    def metadata(self) -> dict[str, Any]:
        doc = {
            "issuer": self.issuer,
            "authorization_endpoint": self.issuer + "/authorize",
            "token_endpoint": self.issuer + "/token",
            "jwks_uri": self.issuer + "/jwks",
            "userinfo_endpoint": self.issuer + "/userinfo",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": True,
        }
        if self.with_end_session:
            doc["end_session_endpoint"] = self.issuer + "/end_session"
        return doc

    def _answer(self, h: BaseHTTPRequestHandler, body: bytes) -> None:
        parts = urlsplit(h.path)
        status, headers, out = 404, {"Content-Type": "text/plain"}, b"not found"
        if parts.path == "/.well-known/openid-configuration":
            status, out = 200, json.dumps(self.metadata()).encode()
            headers = {"Content-Type": "application/json"}
        elif parts.path == "/jwks":
            self.jwks_hits += 1
            keys = {"keys": [self.public_jwk(), *self.extra_keys]}
            status, out, headers = (
                200,
                json.dumps(keys).encode(),
                {"Content-Type": "application/json"},
            )
        elif parts.path == "/authorize":
            status, headers, out = self._authorize(parse_qs(parts.query))
        elif parts.path == "/userinfo":
            bearer = (h.headers.get("Authorization") or "").removeprefix("Bearer ")
            if bearer in self.access_tokens:
                status, out = 200, json.dumps(self.userinfo).encode()
                headers = {"Content-Type": "application/json"}
            else:
                status, out = 401, b""
        elif parts.path == "/token":
            status, headers, out = self._token(
                parse_qs(body.decode()), h.headers.get("Authorization")
            )
        h.send_response(status)
        for name, value in {"Content-Length": str(len(out)), **headers}.items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(out)

    def _authorize(self, q: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        def one(name: str) -> str | None:
            return q[name][0] if name in q else None

        code = secrets.token_urlsafe(16)
        auth = Authorized(
            client_id=one("client_id") or "",
            redirect_uri=one("redirect_uri") or "",
            state=one("state") or "",
            nonce=one("nonce"),
            code_challenge=one("code_challenge") or "",
            prompt=one("prompt"),
            login_hint=one("login_hint"),
        )
        self.codes[code] = auth
        back = {"code": code, "state": auth.state, "iss": self.iss_override or self.issuer}
        location = auth.redirect_uri + "?" + urlencode(back)
        return 302, {"Location": location}, b""

    def _token(
        self, form: dict[str, list[str]], authorization: str | None
    ) -> tuple[int, dict[str, str], bytes]:
        self.token_requests.append(form)
        json_headers = {"Content-Type": "application/json", "Cache-Control": "no-store"}
        auth = self.codes.get(form.get("code", [""])[0])
        verifier = form.get("code_verifier", [""])[0]
        challenge = b64(hashlib.sha256(verifier.encode()).digest())
        if auth is None or auth.used or not hmac.compare_digest(challenge, auth.code_challenge):
            return 400, json_headers, json.dumps({"error": "invalid_grant"}).encode()
        auth.used = True
        if authorization is None and "client_secret" not in form:
            return 401, json_headers, json.dumps({"error": "invalid_client"}).encode()
        id_token = self.mint(self, auth) if self.mint else self.sign(self.id_claims(auth))
        doc = {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer"}
        self.access_tokens.add(doc["access_token"])
        doc |= {"id_token": id_token, "expires_in": 300}
        return 200, json_headers, json.dumps(doc).encode()


def unsigned(claims: dict[str, Any], header: dict[str, Any] | None = None) -> str:
    """An ``alg: none`` token (RFC 7519 §6)."""
    return b64json({"alg": "none", **(header or {})}) + "." + b64json(claims) + "."


def hmac_with_public_key(op: LoopbackOp, claims: dict[str, Any]) -> str:
    """HS256 keyed with the OP's public key: the algorithm-confusion attack."""
    secret = op.key.as_pem(private=False)
    head = b64json({"alg": "HS256", "kid": op.kid}) + "." + b64json(claims)
    mac = hmac.new(secret, head.encode(), hashlib.sha256).digest()
    return head + "." + b64(mac)


def attacker_key() -> ECKey:
    return ECKey.generate_key("P-256", private=True)
