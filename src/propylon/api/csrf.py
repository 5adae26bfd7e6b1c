"""Cross-site request forgery protection for the forms of Propylon's pages (OWASP CSRF
Prevention Cheat Sheet, "Signed Double-Submit Cookie").

The browser holds a random value in the ``propylon_csrf`` cookie (``HttpOnly``,
``SameSite=Lax``: a cross-site POST does not carry it, RFC 6265bis §5.4.7); each form carries
an HMAC-SHA256 of that value under a subkey of the server secret (``crypto/secretbox.py
subkeys``, every configured key accepted so a rotation keeps open forms valid). A POST is
accepted only with both, matching: another site can neither read the cookie nor forge the
field for it, and a cookie planted by a sibling subdomain has no valid field without the
server's key.

A page that already has a server-side session binds its forms to that instead of the cookie
(:meth:`Csrf.field_for` / :meth:`Csrf.check_bound` with the session id: the setup portal):
the same HMAC, under a subkey of its own label so the two never stand for each other."""

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

    def field_for(self, binding: str) -> str:
        """The form field for ``binding`` (the cookie's value, or a server-side session's
        id), under the current key."""
        return self._mac(self._keys()[0], binding)

    def check_bound(self, binding: str, field: str | None) -> bool:
        """``field`` is the form field of ``binding`` under any configured key."""
        if not binding or not field or len(field) != 64:
            return False
        return any(hmac.compare_digest(self._mac(k, binding), field) for k in self._keys())

    def issue(self, request: Request) -> tuple[str, str | None]:
        """The form field for this browser, and a new cookie value to set when it had none
        (or one not of ours)."""
        value = request.cookies.get(CSRF_COOKIE, "")
        fresh = None
        if not (20 <= len(value) <= 64 and value.isascii()):
            value = fresh = secrets.token_urlsafe(32)
        return self.field_for(value), fresh

    def check(self, request: Request, field: str | None) -> bool:
        value = request.cookies.get(CSRF_COOKIE, "")
        return len(value) <= 64 and self.check_bound(value, field)


def csrf_of(box_subkeys: Callable[[str], list[bytes]], label: str = _LABEL) -> Csrf:
    """The scheme under the subkeys of ``label`` (one label per binding: the cookie's is the
    default)."""
    return Csrf(lambda: box_subkeys(label))


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
