"""Management API for webhook endpoints and the delivery queue: ``/api/v1/webhooks``,
``/api/v1/deliveries`` (API key). The same functions as ``propylon webhooks ...`` and
``propylon deliveries ...`` (:mod:`propylon.admin.webhooks`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from propylon.admin import webhooks
from propylon.api.http import StandardInputRoute
from propylon.api.mgmt_routes import PROBLEMS, STRICT, Caller, Rt

BIGINT_MAX = 2**63 - 1
DeliveryId = Annotated[int, Path(ge=1, le=BIGINT_MAX)]

router = APIRouter(
    prefix="/api/v1", tags=["management"], responses=PROBLEMS, route_class=StandardInputRoute
)


class EndpointIn(BaseModel):
    model_config = STRICT
    url: str = Field(examples=["https://platform.example.com/hooks/propylon"], max_length=2000)
    tenant_id: str | None = Field(default=None, max_length=64)
    event_types: list[str] = Field(default_factory=list, max_length=100)
    description: str = Field(default="", max_length=255)


@router.post("/webhooks", status_code=201)
async def create_endpoint(body: EndpointIn, rt: Rt, actor: Caller) -> dict[str, Any]:
    """Register an endpoint; ``secret`` (``whsec_...``) is shown only in this answer."""
    return await webhooks.create_endpoint(
        rt,
        actor,
        url=body.url,
        tenant_id=body.tenant_id,
        event_types=body.event_types,
        description=body.description,
    )


@router.get("/webhooks")
async def list_endpoints(rt: Rt, _: Caller) -> dict[str, Any]:
    return {"data": await webhooks.list_endpoints(rt)}


@router.get("/webhooks/{endpoint_id}")
async def show_endpoint(endpoint_id: str, rt: Rt, _: Caller) -> dict[str, Any]:
    return await webhooks.show_endpoint(rt, endpoint_id)


class EndpointPatch(BaseModel):
    model_config = STRICT
    url: str | None = Field(default=None, max_length=2000)
    event_types: list[str] | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=255)


@router.patch("/webhooks/{endpoint_id}")
async def update_endpoint(
    endpoint_id: str, body: EndpointPatch, rt: Rt, actor: Caller
) -> dict[str, Any]:
    return await webhooks.update_endpoint(
        rt,
        actor,
        endpoint_id,
        url=body.url,
        event_types=body.event_types,
        description=body.description,
    )


@router.delete("/webhooks/{endpoint_id}")
async def delete_endpoint(endpoint_id: str, rt: Rt, actor: Caller) -> dict[str, Any]:
    return await webhooks.delete_endpoint(rt, actor, endpoint_id)


class RotateIn(BaseModel):
    model_config = STRICT
    grace_seconds: int | None = Field(default=None, ge=0, le=30 * 86400)


@router.post("/webhooks/{endpoint_id}/rotate-secret")
async def rotate_secret(
    endpoint_id: str, rt: Rt, actor: Caller, body: RotateIn | None = None
) -> dict[str, Any]:
    """A new secret (shown once); the previous one keeps signing for the grace period."""
    grace = body.grace_seconds if body else None
    return await webhooks.rotate_secret(rt, actor, endpoint_id, grace_seconds=grace)


@router.get("/deliveries")
async def list_deliveries(
    rt: Rt,
    _: Caller,
    state: str | None = None,
    kind: str | None = None,
    destination: str | None = Query(default=None, max_length=64),
    tenant: str | None = Query(default=None, max_length=64),
    after: int = Query(default=0, ge=0, le=BIGINT_MAX),
    limit: int = Query(default=100, ge=1, le=1000),
) -> dict[str, Any]:
    """The queue and its outcomes; ``state=dead`` is the dead-letter view."""
    return await webhooks.list_deliveries(
        rt,
        state=state,
        kind=kind,
        destination=destination,
        tenant_id=tenant,
        after=after,
        limit=limit,
    )


@router.get("/deliveries/{delivery_id}")
async def show_delivery(delivery_id: DeliveryId, rt: Rt, _: Caller) -> dict[str, Any]:
    """A delivery, its payload and every attempt."""
    return await webhooks.show_delivery(rt, delivery_id)


class ReplayIn(BaseModel):
    model_config = STRICT
    ids: list[Annotated[int, Field(ge=1, le=BIGINT_MAX)]] = Field(
        default_factory=list, max_length=1000
    )
    destination: str | None = Field(default=None, max_length=64)


@router.post("/deliveries/replay")
async def replay(body: ReplayIn, rt: Rt, actor: Caller) -> dict[str, Any]:
    """Dead deliveries (these ids, or every one of ``destination``) tried again."""
    return await webhooks.replay(rt, actor, ids=body.ids, destination=body.destination)
