"""A FastAPI dependency (needs the ``fastapi`` extra; the rest of the SDK does not import it):

    require = principal_dependency(propylon)

    @app.get("/me")
    async def me(p: Annotated[Principal, Depends(require)]) -> dict[str, str]: ...

A missing or refused token is a 401 with ``WWW-Authenticate: Bearer error="invalid_token"``
(RFC 6750 §3.1); ``role=`` also requires a role (403 ``insufficient_scope`` otherwise).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request

from propylon.sdk.asgi import bearer
from propylon.sdk.client import Propylon
from propylon.sdk.errors import InvalidToken
from propylon.sdk.principal import Principal


def principal_dependency(
    propylon: Propylon, *, role: str | None = None
) -> Callable[[Request], Awaitable[Principal]]:
    async def dependency(request: Request) -> Principal:
        token = bearer(request.headers.get("authorization"))
        if token is None:
            raise _refused("missing")
        try:
            principal = await propylon.averify(token)
        except InvalidToken as exc:
            raise _refused(exc.reason) from None
        if role is not None and not principal.has_role(role):
            raise HTTPException(
                403,
                detail="insufficient_role",
                headers={"WWW-Authenticate": 'Bearer error="insufficient_scope"'},
            )
        request.state.principal = principal
        return principal

    return dependency


def _refused(reason: str) -> HTTPException:
    challenge = f'Bearer error="invalid_token", error_description="{reason}"'
    return HTTPException(401, detail=reason, headers={"WWW-Authenticate": challenge})
