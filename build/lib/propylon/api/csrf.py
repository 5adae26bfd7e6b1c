"""Cross-site request forgery protection for the forms of Propylon's pages (OWASP CSRF
Prevention Cheat Sheet, "Signed Double-Submit Cookie").

The browser holds a random value in the ``propylon_csrf`` cookie (``HttpOnly``,
``SameSite=Lax``: a cross-site POST does not carry it, RFC 6265bis §5.4.7); each form carries
an HMAC-SHA256 of that value under a subkey of the server secret (``crypto/secretbox.py
subkeys``, every configured key accepted so a rotation keeps open forms valid). A POST is
accepted only with both, matching: another site can neither read the cookie nor forge the
field for it, and a cookie planted by a sibling subdomain has no valid field without the
server's key."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response

CSRF_COOKIE = "propylon_csrf"
CSRF_FIELD = "csrf_token"
_LABEL = "csrf-form-field"


class Csrf:
    def __init__(self, keys: Callable[[], list[bytes]]) -> None:
        self._keys = keys

    def _mac(self, key: bytes, value: str) -> str:
        return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()

    def issue(self, request: Request) -> tuple[str, str | None]:
        """The form field for this browser, and a new cookie value to set when it had none
        (or one not of ours)."""
        value = request.cookies.get(CSRF_COOKIE, "")
        fresh = None
        if not (20 <= len(value) <= 64 and value.isascii()):
            value = fresh = secrets.token_urlsafe(32)
        return self._mac(self._keys()[0], value), fresh

    def check(self, request: Request, field: str | None) -> bool:
        value = request.cookies.get(CSRF_COOKIE, "")
        if not value or not field or len(value) > 64 or len(field) != 64:
            return False
        return any(hmac.compare_digest(self._mac(k, value), field) for k in self._keys())


def csrf_of(box_subkeys: Callable[[str], list[bytes]]) -> Csrf:
    return Csrf(lambda: box_subkeys(_LABEL))


def set_csrf_cookie(response: Response, value: str | None, public_url: str) -> None:
    if value is None:
        return
    response.set_cookie(
        CSRF_COOKIE,
        value,
        path="/",
        httponly=True,
        samesite="lax",
        secure=public_url.lower().startswith("https://"),
    )
