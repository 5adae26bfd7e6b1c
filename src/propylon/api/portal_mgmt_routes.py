"""Management API for setup portal links (the same functions as ``propylon portal …``,
:mod:`propylon.admin.portal_links`): ``POST /api/v1/tenants/{tenant}/portal-links`` (the URL
with its token, shown once), ``GET`` the tenant's links, ``DELETE
/api/v1/portal-links/{link_id}`` to revoke one (its portal session ends at once)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from propylon.admin import portal_links as ops
from propylon.api.http import StandardInputRoute
from propylon.api.mgmt_routes import PROBLEMS, STRICT, Caller, Rt

router = APIRouter(
    prefix="/api/v1", tags=["management"], responses=PROBLEMS, route_class=StandardInputRoute
)


class PortalLinkIn(BaseModel):
    model_config = STRICT
    intents: list[str] = Field(
        min_length=1,
        max_length=5,
        examples=[["sso", "domains"]],
        description="What the link opens: sso, scim, domains, roles, or all.",
    )
    expires_in: str | int | None = Field(
        default=None,
        examples=["1h"],
        description="How long the link can be redeemed: seconds, or 30m, 1h, 2d; "
        "default PROPYLON_PORTAL_LINK_DEFAULT_SECONDS.",
    )
    return_url: str | None = Field(
        default=None, max_length=2000, description='Where "Done" leads (https).'
    )


@router.post("/tenants/{tenant}/portal-links", status_code=201)
async def create_link(tenant: str, body: PortalLinkIn, rt: Rt, actor: Caller) -> dict[str, Any]:
    """A single-use setup link for the tenant's IT admin; its ``url`` is shown only now."""
    seconds = None if body.expires_in is None else ops.parse_duration(body.expires_in)
    return await ops.create_link(rt, actor, tenant, body.intents, seconds, body.return_url)


@router.get("/tenants/{tenant}/portal-links")
async def list_links(tenant: str, rt: Rt, _: Caller) -> dict[str, Any]:
    """The tenant's setup links and their status (never their tokens)."""
    return {"data": await ops.list_links(rt, tenant)}


@router.delete("/portal-links/{link_id}")
async def revoke_link(link_id: str, rt: Rt, actor: Caller) -> dict[str, Any]:
    """Revoke a link: it can no longer be redeemed and its portal session ends at once."""
    return await ops.revoke_link(rt, actor, link_id)
