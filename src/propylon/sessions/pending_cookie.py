"""A pending sign-in at an upstream IdP (SAML or OpenID Connect), kept in the browser that
started it.

Starting a login writes nothing on the server (an anonymous request must be cheap): the
AuthnRequest's ID, the authorization request to resume, the connection, the ``ForceAuthn``
flag and when it was sent travel in a cookie, sealed with AES-256-GCM (NIST SP 800-38D) under
the secret box's subkey for this purpose (HKDF-SHA256, ``crypto/secretbox.py``), so the
browser can neither read nor change it; during a rotation of ``PROPYLON_SECRET_KEY`` a
cookie sealed under the previous key still opens. The cookie is named after the login's
RelayState (SAML Bindings §3.4.3: at most 80 bytes, carried through the IdP and posted back
with the Response) and the RelayState is the sealed value's associated data: the ACS accepts
the answer to a pending login only from the browser holding that login's cookie, so a
Response (with its RelayState) posted from any other browser is refused (login CSRF). One
cookie per login: several tabs may sign in at once.

An OpenID Connect login (``kind="oidc"``) keeps the same way its ``state`` (the cookie's
name, as the RelayState is for SAML), ``nonce`` and PKCE ``code_verifier`` (RFC 7636 §4.1):
the callback finds all three in the browser that started the login and nowhere else.

A test connection's login carries its test id too (``signin/connection_test.py``): the ACS or
callback records the answer as that test's result, and only a login sealed with a test id can.

A SAML Response comes back in the IdP's cross-site POST to the ACS, which carries only
``SameSite=None`` cookies: the SAML cookie is ``SameSite=None`` and ``Secure`` (browsers keep
``Secure`` cookies of ``http://localhost`` and ``127.0.0.1`` too). An OpenID Connect
authorization response is a top-level GET redirect to the callback (Core §3.1.2.5), which
carries ``SameSite=Lax`` cookies, so the OIDC cookie is ``Lax``: it never crosses a
cross-site POST or subrequest. Both are ``HttpOnly``, scoped to the connection's ACS or
callback path, and live as long as the login may.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from starlette.responses import Response

COOKIE_PREFIX = "propylon_login_"
MAX_COOKIE_BYTES = 4000
"""Browsers keep cookies of up to 4096 bytes, name and value (RFC 6265 §6.1); a login whose
cookie would be longer is refused at the start rather than lost on the way."""
_RELAY = re.compile(r"[A-Za-z0-9_-]{22}")
_INFO = b"propylon pending sign-in cookie v1"
_NONCE_BYTES = 12


class CookieTooLarge(ValueError):
    """The pending login would not fit in a cookie (an overlong authorization request)."""


@dataclass(frozen=True)
class PendingLogin:
    """An AuthnRequest (or OpenID Connect authentication request) sent and not yet
    answered, as the starting browser holds it."""

    request_id: str
    """The AuthnRequest's ID; for OpenID Connect, empty (the ``state`` names the login)."""
    connection_id: str
    return_to: str
    force_authn: bool
    created_at: datetime
    expires_at: datetime
    kind: str = "saml"
    """``saml`` or ``oidc``: a cookie of one protocol never answers the other's callback."""
    nonce: str | None = None
    """OpenID Connect: the ``nonce`` sent, the ID token must carry it (Core §3.1.2.1)."""
    code_verifier: str | None = None
    """OpenID Connect: the PKCE verifier of the ``code_challenge`` sent (RFC 7636 §4.1)."""
    test_id: str | None = None
    """A test connection's login (``ctest_…``): its answer is recorded as the test's result
    and never starts a session; a login without it never becomes a test."""


def new_relay_state() -> str:
    """A fresh RelayState: 128 random bits, base64url (22 characters, a cookie-name token)."""
    return secrets.token_urlsafe(16)


def cookie_name(relay_state: str | None) -> str | None:
    """The cookie of the login ``relay_state`` names; None if it is not one of ours (an
    IdP-initiated login may carry a RelayState of the IdP's own)."""
    if relay_state is None or not _RELAY.fullmatch(relay_state):
        return None
    return COOKIE_PREFIX + relay_state


def cookie_path(acs_url: str) -> str:
    """The path the cookie is sent to: the connection's ACS only."""
    return urlsplit(acs_url).path or "/"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _aad(relay_state: str) -> bytes:
    return _INFO + b"\x00" + relay_state.encode("ascii")


class PendingLoginSeal:
    """Seals pending-login cookies under the first of ``keys`` (32-byte keys for this purpose
    only, the current one first) and opens them under any. ``keys`` is called once, on first
    use (so processes that never start a login, such as the CLI, never need them)."""

    def __init__(self, keys: Callable[[], list[bytes]]) -> None:
        self._keys = keys
        self._aeads: list[AESGCM] | None = None

    def _ciphers(self) -> list[AESGCM]:
        if self._aeads is None:
            self._aeads = [AESGCM(key) for key in self._keys()]
        return self._aeads

    def seal(self, relay_state: str, login: PendingLogin) -> str:
        """The cookie value for ``login``; :class:`CookieTooLarge` if it cannot be kept."""
        doc = {
            "r": login.request_id,
            "c": login.connection_id,
            "u": login.return_to,
            "f": login.force_authn,
            "t": login.created_at.timestamp(),
            "e": login.expires_at.timestamp(),
        }
        if login.kind != "saml":
            doc.update(k=login.kind, n=login.nonce, v=login.code_verifier)
        if login.test_id is not None:
            doc["x"] = login.test_id
        plain = zlib.compress(json.dumps(doc, separators=(",", ":")).encode("utf-8"))
        nonce = secrets.token_bytes(_NONCE_BYTES)
        value = _b64(nonce + self._ciphers()[0].encrypt(nonce, plain, _aad(relay_state)))
        if len(COOKIE_PREFIX) + len(relay_state) + len(value) > MAX_COOKIE_BYTES:
            raise CookieTooLarge("the sign-in request is too long to keep")
        return value

    def open(self, relay_state: str, value: str) -> PendingLogin | None:
        """The login ``value`` holds if it was sealed here for ``relay_state``, else None
        (changed, forged, moved to another RelayState, or sealed under another secret)."""
        if len(value) > MAX_COOKIE_BYTES:
            return None
        try:
            raw = _unb64(value)
        except (ValueError, binascii.Error):
            return None
        for cipher in self._ciphers():
            try:
                plain = cipher.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _aad(relay_state))
            except (InvalidTag, ValueError):
                continue
            return _login(plain)
        return None


def _login(plain: bytes) -> PendingLogin | None:
    """The login a decrypted cookie holds (None if malformed, which a sealed value never is)."""
    try:
        doc = json.loads(zlib.decompress(plain))
        return PendingLogin(
            request_id=str(doc["r"]),
            connection_id=str(doc["c"]),
            return_to=str(doc["u"]),
            force_authn=bool(doc["f"]),
            created_at=datetime.fromtimestamp(float(doc["t"]), UTC),
            expires_at=datetime.fromtimestamp(float(doc["e"]), UTC),
            kind=str(doc.get("k", "saml")),
            nonce=_text_or_none(doc.get("n")),
            code_verifier=_text_or_none(doc.get("v")),
            test_id=_text_or_none(doc.get("x")),
        )
    except (ValueError, zlib.error, KeyError, TypeError):
        return None


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _secure(public_url: str) -> bool:
    """``SameSite=None`` needs ``Secure``; browsers accept it over https and on loopback
    (W3C Secure Contexts §3.1). A plain-http public URL on another host cannot bind a login
    to its browser this way: the cookie is then sent without ``SameSite`` (browsers that
    default to ``Lax`` let it cross a top-level POST for two minutes only). Use https."""
    parts = urlsplit(public_url)
    host = (parts.hostname or "").lower()
    loopback = host in ("localhost", "::1") or host.startswith("127.")
    return parts.scheme.lower() == "https" or loopback


SameSite = Literal["lax", "none"]


def _same_site(secure: bool, same_site: SameSite) -> Literal["lax", "none"] | None:
    return same_site if secure or same_site == "lax" else None


def set_pending_cookie(
    response: Response,
    name: str,
    value: str,
    path: str,
    public_url: str,
    max_age: int,
    same_site: SameSite = "none",
) -> None:
    """``same_site``: ``none`` for a SAML login (the ACS receives a cross-site POST),
    ``lax`` for an OpenID Connect one (the callback receives a top-level GET)."""
    secure = _secure(public_url)
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        httponly=True,
        secure=secure,
        samesite=_same_site(secure, same_site),
    )


def clear_pending_cookie(
    response: Response, name: str, path: str, public_url: str, same_site: SameSite = "none"
) -> None:
    secure = _secure(public_url)
    response.delete_cookie(
        name, path=path, httponly=True, secure=secure, samesite=_same_site(secure, same_site)
    )
