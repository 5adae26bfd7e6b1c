"""What a person finds at ``/`` and ``/docs``: what this server is, where its documentation
is, the next command to run, and the management API's reference rendered on the server from
the OpenAPI document (no script, no asset from a CDN: it works offline)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from propylon import __version__
from propylon.api.pages import render
from propylon.runtime import Runtime

router = APIRouter(include_in_schema=False)

_METHODS = ("get", "post", "put", "patch", "delete")


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> HTMLResponse:
    rt: Runtime = request.app.state.runtime
    base = rt.settings.public_url.rstrip("/")
    return render(
        "home.html",
        title="Propylon",
        version=__version__,
        base=base,
        storage="SQLite (embedded)" if rt.settings.is_sqlite else "PostgreSQL",
        accelerator="Redis" if rt.settings.redis_url else "in-process",
        demo=rt.settings.demo_enabled,
        test_idp=rt.settings.test_idp_enabled,
    )


def operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The OpenAPI document's operations, grouped by tag, in path order."""
    found: list[dict[str, Any]] = []
    for path, item in spec.get("paths", {}).items():
        for method in _METHODS:
            op = item.get(method)
            if op is None:
                continue
            params = [
                {
                    "name": p.get("name", ""),
                    "where": p.get("in", ""),
                    "required": bool(p.get("required")),
                    "description": p.get("description", ""),
                }
                for p in op.get("parameters", [])
            ]
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            schema_ref = body.get("schema", {}).get("$ref", "")
            found.append(
                {
                    "tag": (op.get("tags") or ["other"])[0],
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "params": params,
                    "body": schema_ref.rsplit("/", 1)[-1],
                    "responses": sorted(op.get("responses", {})),
                }
            )
    return found


@router.get("/docs", response_class=HTMLResponse)
async def docs(request: Request) -> HTMLResponse:
    ops = operations(request.app.openapi())
    tags = sorted({op["tag"] for op in ops})
    return render(
        "docs.html",
        title="Management API",
        version=__version__,
        groups=[(tag, [op for op in ops if op["tag"] == tag]) for tag in tags],
    )
