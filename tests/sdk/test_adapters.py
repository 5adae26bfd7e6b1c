"""The FastAPI dependency and the plain ASGI middleware answer RFC 6750 errors: a missing or
refused token is 401 ``invalid_token`` with the refusal's reason, a missing role 403
``insufficient_scope``; the principal reaches the handler. Tokens are signed here; the SDK
client has its keys loaded (no server)."""

from typing import Annotated, Any

import httpx
from fastapi import Depends, FastAPI, Request

from propylon.sdk import Principal, Propylon, PropylonMiddleware
from propylon.sdk.fastapi import principal_dependency
from tests.sdk.tokens import AUDIENCE, ISSUER, Issuer, claims

KEY = Issuer()


def _propylon() -> Propylon:
    p = Propylon(ISSUER, audience=AUDIENCE, revocation=False)
    p.jwks.load({"keys": [KEY.jwk()]})
    return p


def _app(propylon: Propylon) -> FastAPI:
    app = FastAPI()
    editor = principal_dependency(propylon, role="editor")

    @app.get("/me")
    async def me(p: Annotated[Principal, Depends(principal_dependency(propylon))]) -> Any:
        return {"user": p.user_id, "roles": list(p.roles)}

    @app.get("/edit")
    async def edit(request: Request, p: Annotated[Principal, Depends(editor)]) -> Any:
        return {"user": request.state.principal.user_id}

    return app


async def test_the_fastapi_dependency_gives_the_principal_or_an_rfc6750_error() -> None:
    app = _app(_propylon())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://h") as c:
        good = {"Authorization": f"Bearer {KEY.sign(claims())}"}
        assert (await c.get("/me", headers=good)).json() == {"user": "usr_1", "roles": ["viewer"]}
        r = await c.get("/me")
        assert r.status_code == 401 and r.json()["detail"] == "missing"
        assert r.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
        r = await c.get("/me", headers={"Authorization": f"Bearer {KEY.sign(claims(aud='x'))}"})
        assert r.status_code == 401 and r.json()["detail"] == "audience"
        r = await c.get("/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
        assert r.status_code == 401
        r = await c.get("/edit", headers=good)
        assert r.status_code == 403 and "insufficient_scope" in r.headers["www-authenticate"]
        editor = {"Authorization": f"Bearer {KEY.sign(claims(roles=['editor']))}"}
        assert (await c.get("/edit", headers=editor)).json() == {"user": "usr_1"}


async def test_the_asgi_middleware_guards_every_path_but_the_exempt_ones() -> None:
    async def inner(scope: Any, receive: Any, send: Any) -> None:
        user = scope["state"]["principal"].user_id if "principal" in scope.get("state", {}) else ""
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": user.encode()})

    app = PropylonMiddleware(inner, _propylon(), exempt=("/healthz",))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://h") as c:
        good = {"Authorization": f"Bearer {KEY.sign(claims())}"}
        assert (await c.get("/x", headers=good)).text == "usr_1"
        assert (await c.get("/healthz")).status_code == 200
        r = await c.get("/x", headers={"Authorization": f"Bearer {KEY.sign(claims())}x"})
        assert r.status_code == 401 and r.json() == {"error": "invalid_token",
                                                     "reason": "bad_signature"}  # fmt: skip
        assert "invalid_token" in r.headers["www-authenticate"]
