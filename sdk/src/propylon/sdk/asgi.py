"""A plain ASGI middleware (ASGI 3.0, HTTP scopes): requests need ``Authorization: Bearer
<access token>`` (RFC 6750 §2.1); the principal is put in ``scope["state"]["principal"]``
(Starlette's ``request.state.principal``) and ``scope["propylon.principal"]``; anything else
is a 401 with ``WWW-Authenticate: Bearer error="invalid_token"`` (RFC 6750 §3)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from propylon.sdk.client import Propylon
from propylon.sdk.errors import InvalidToken

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


async def unauthorized(send: Send, reason: str) -> None:
    body = json.dumps({"error": "invalid_token", "reason": reason}).encode()
    challenge = f'Bearer error="invalid_token", error_description="{reason}"'
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"www-authenticate", challenge.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class PropylonMiddleware:
    """``app = PropylonMiddleware(app, propylon, exempt=("/healthz",))``."""

    def __init__(self, app: ASGIApp, propylon: Propylon, exempt: tuple[str, ...] = ()) -> None:
        self.app = app
        self.propylon = propylon
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.exempt:
            await self.app(scope, receive, send)
            return
        authorization = None
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                authorization = value.decode("latin-1")
                break
        token = bearer(authorization)
        if token is None:
            await unauthorized(send, "missing")
            return
        try:
            principal = await self.propylon.averify(token)
        except InvalidToken as exc:
            await unauthorized(send, exc.reason)
            return
        scope.setdefault("state", {})["principal"] = principal
        scope["propylon.principal"] = principal
        await self.app(scope, receive, send)
