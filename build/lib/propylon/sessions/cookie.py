"""The ``propylon_session`` browser cookie (RFC 6265 §4.1.2): the random handle only,
``HttpOnly``, ``SameSite=Lax`` (the authorization request arrives as a top-level GET from the
app's site), ``Secure`` whenever the public URL is https, expiring with the session."""

from __future__ import annotations

from datetime import datetime

from starlette.responses import Response

from propylon.sessions.service import COOKIE_NAME, IssuedSession


def set_session_cookie(
    response: Response, issued: IssuedSession, public_url: str, now: datetime
) -> None:
    response.set_cookie(
        COOKIE_NAME,
        issued.handle,
        max_age=max(0, int((issued.expires_at - now).total_seconds())),
        path="/",
        httponly=True,
        samesite="lax",
        secure=public_url.lower().startswith("https://"),
    )


def clear_session_cookie(response: Response, public_url: str) -> None:
    response.delete_cookie(
        COOKIE_NAME,
        path="/",
        httponly=True,
        samesite="lax",
        secure=public_url.lower().startswith("https://"),
    )
