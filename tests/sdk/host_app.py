"""A host platform's process protected by Propylon, for the proof tests and the revocation
bench: the README's ten lines plus what a test reads. Run::

    python tests/sdk/host_app.py PORT ISSUER AUDIENCE API_KEY CLIENT_ID CLIENT_SECRET [EVENTS_URL]

``GET /me`` answers the principal (401 ``{"reason"}`` when refused, by the FastAPI
dependency), ``GET /asgi/me`` the same through the plain ASGI middleware, ``GET /view`` the
local view's state. No ``from __future__ import annotations``: FastAPI reads the
dependency from the annotation of a function defined in ``build``. Only ``propylon.sdk`` of
Propylon is imported (asserted at start)."""

import sys
from typing import Annotated, Any

import uvicorn
from fastapi import Depends, FastAPI

from propylon.sdk import Principal, Propylon, PropylonMiddleware
from propylon.sdk.fastapi import principal_dependency


def principal_json(p: Principal) -> dict[str, Any]:
    return {
        "user": p.user_id,
        "tenant": p.tenant_id,
        "roles": list(p.roles),
        "tier": p.tier,
        "programs": list(p.programs),
        "version": p.entitlements_version,
        "sid": p.session_id,
        "source": p.source,
    }


def build(propylon: Propylon) -> FastAPI:
    app = FastAPI()
    require = principal_dependency(propylon)

    @app.get("/me")
    async def me(p: Annotated[Principal, Depends(require)]) -> dict[str, Any]:
        return principal_json(p)

    @app.get("/view")
    async def view() -> dict[str, Any]:
        v = propylon.view
        return {"fresh": v.fresh(), "last_seq": v.last_seq, "heartbeat_seq": v.heartbeat_seq}

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        import json

        body = json.dumps(principal_json(scope["state"]["principal"])).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})

    app.mount("/asgi", PropylonMiddleware(inner, propylon))
    return app


def main() -> None:
    port, issuer, audience, api_key, client_id, client_secret, *rest = sys.argv[1:]
    propylon = Propylon(
        issuer,
        audience=audience,
        api_key=api_key,
        client_id=client_id,
        client_secret=client_secret,
        events_url=rest[0] if rest else None,
    ).start()
    server_modules = [m for m in sys.modules if m.startswith("propylon.") and not
                      m.startswith("propylon.sdk")]  # fmt: skip
    assert not server_modules, server_modules
    uvicorn.run(build(propylon), host="127.0.0.1", port=int(port), log_level="warning")


if __name__ == "__main__":
    main()
