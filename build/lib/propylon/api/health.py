"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from propylon.db.migrate import is_current
from propylon.runtime import Runtime

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Ready to serve: database reachable and migrated, accelerator reachable."""
    rt: Runtime = request.app.state.runtime
    checks: dict[str, str] = {}
    try:
        async with rt.db.read() as s:
            await s.execute(text("SELECT 1"))
        checks["database"] = "ok" if await is_current(rt.db) else "schema not migrated"
    except Exception as exc:  # readiness reports, it never raises
        checks["database"] = f"unreachable: {type(exc).__name__}"
    checks["accelerator"] = "ok" if await rt.cache.ping() else "unreachable"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )
