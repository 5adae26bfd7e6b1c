"""Shared Signals Framework 1.0 transmitter endpoints (:mod:`propylon.admin.ssf_streams`):
``/.well-known/ssf-configuration`` (SSF §7.1, public) and the stream configuration, status
and verification endpoints under ``/ssf`` for receivers holding a management API key
(``Authorization: Bearer pk_…``, RFC 6750)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.responses import JSONResponse

from propylon.admin import ssf_streams
from propylon.api.http import StandardInputRoute
from propylon.api.mgmt_routes import PROBLEMS, Caller, Rt

router = APIRouter(tags=["shared signals"], responses=PROBLEMS, route_class=StandardInputRoute)
NO_STORE = {"Cache-Control": "no-store"}
StreamBody = Body(
    examples=[
        {
            "delivery": {
                "method": "urn:ietf:rfc:8935",
                "endpoint_url": "https://receiver.example.com/events",
            }
        }
    ]
)


@router.get("/.well-known/ssf-configuration")
async def ssf_configuration(request: Request) -> JSONResponse:
    """SSF §7.1 transmitter configuration metadata."""
    rt = request.app.state.runtime
    return JSONResponse(ssf_streams.transmitter_metadata(rt.settings.public_url))


@router.post("/ssf/stream", status_code=201)
async def create_stream(rt: Rt, actor: Caller, body: dict[str, Any] = StreamBody) -> JSONResponse:
    """SSF §8.1.1.1: create a stream (push delivery, RFC 8935)."""
    out = await ssf_streams.create_stream(rt, actor, body)
    return JSONResponse(out, status_code=201, headers=NO_STORE)


@router.get("/ssf/stream")
async def read_stream(
    rt: Rt, _: Caller, stream_id: str | None = Query(default=None, max_length=64)
) -> JSONResponse:
    """SSF §8.1.1.2: one stream, or the list of every stream without ``stream_id``."""
    return JSONResponse(await ssf_streams.read_streams(rt, stream_id), headers=NO_STORE)


@router.patch("/ssf/stream")
async def update_stream(rt: Rt, actor: Caller, body: dict[str, Any] = StreamBody) -> JSONResponse:
    """SSF §8.1.1.3: change the receiver-supplied properties given."""
    out = await ssf_streams.update_stream(rt, actor, body, replace=False)
    return JSONResponse(out, headers=NO_STORE)


@router.put("/ssf/stream")
async def replace_stream(rt: Rt, actor: Caller, body: dict[str, Any] = StreamBody) -> JSONResponse:
    """SSF §8.1.1.4: replace the receiver-supplied configuration."""
    out = await ssf_streams.update_stream(rt, actor, body, replace=True)
    return JSONResponse(out, headers=NO_STORE)


@router.delete("/ssf/stream", status_code=204)
async def delete_stream(
    rt: Rt, actor: Caller, stream_id: str | None = Query(default=None, max_length=64)
) -> Response:
    """SSF §8.1.1.5."""
    await ssf_streams.delete_stream(rt, actor, stream_id)
    return Response(status_code=204)


@router.get("/ssf/status")
async def read_status(
    rt: Rt, _: Caller, stream_id: str | None = Query(default=None, max_length=64)
) -> JSONResponse:
    """SSF §8.1.2.1."""
    return JSONResponse(await ssf_streams.read_status(rt, stream_id), headers=NO_STORE)


@router.post("/ssf/status")
async def update_status(rt: Rt, actor: Caller, body: dict[str, Any] = Body()) -> JSONResponse:
    """SSF §8.1.2.2: ``enabled`` | ``paused`` | ``disabled``."""
    return JSONResponse(await ssf_streams.update_status(rt, actor, body), headers=NO_STORE)


@router.post("/ssf/verify", status_code=204)
async def verify(rt: Rt, actor: Caller, body: dict[str, Any] = Body()) -> Response:
    """SSF §8.1.4.2: a verification SET with the given ``state`` is pushed."""
    await ssf_streams.verify(rt, actor, body)
    return Response(status_code=204)
