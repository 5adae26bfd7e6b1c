"""Management API for email domains: ``/api/v1/tenants/{tenant}/domains``.

The same functions as ``propylon domain …`` (:mod:`propylon.admin.domains`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from propylon.admin import domains as ops
from propylon.api.http import StandardInputRoute
from propylon.api.mgmt_routes import PROBLEMS, STRICT, Caller, Rt

router = APIRouter(
    prefix="/api/v1", tags=["management"], responses=PROBLEMS, route_class=StandardInputRoute
)


class DomainIn(BaseModel):
    model_config = STRICT
    domain: str = Field(max_length=253, examples=["acme.com"])
    connection_id: str | None = Field(
        default=None,
        max_length=64,
        description="The tenant's connection this domain's people sign in through.",
    )


class DomainBinding(BaseModel):
    model_config = STRICT
    connection_id: str | None = Field(
        max_length=64, description="A connection of the tenant, or null to unbind."
    )


@router.get("/tenants/{tenant}/domains")
async def list_domains(tenant: str, rt: Rt, _: Caller) -> dict[str, Any]:
    """The tenant's email domains and the connection each one signs in through."""
    return {"data": [d.as_dict() for d in await ops.list_domains(rt, tenant)]}


@router.post("/tenants/{tenant}/domains", status_code=201)
async def add_domain(tenant: str, body: DomainIn, rt: Rt, actor: Caller) -> dict[str, object]:
    """Add an email domain to the tenant, optionally bound to one of its connections."""
    view = await ops.add_domain(rt, actor, tenant, body.domain, body.connection_id)
    return view.as_dict()


@router.patch("/tenants/{tenant}/domains/{domain}")
async def bind_domain(
    tenant: str, domain: str, body: DomainBinding, rt: Rt, actor: Caller
) -> dict[str, object]:
    """Bind the domain to a connection of the tenant (or unbind it with null)."""
    return (await ops.bind_domain(rt, actor, tenant, domain, body.connection_id)).as_dict()


@router.delete("/tenants/{tenant}/domains/{domain}", status_code=204)
async def remove_domain(tenant: str, domain: str, rt: Rt, actor: Caller) -> Response:
    """Remove the domain: logins for it no longer find the tenant."""
    await ops.remove_domain(rt, actor, tenant, domain)
    return Response(status_code=204)


@router.post("/tenants/{tenant}/domains/{domain}/verification", status_code=201)
async def start_verification(tenant: str, domain: str, rt: Rt, actor: Caller) -> dict[str, Any]:
    """The DNS TXT record (``record_name``, ``record_value``) that proves the tenant controls
    the domain; the domain is created unverified (routing no one) if the tenant lacks it."""
    return await ops.start_verification(rt, actor, tenant, domain)


@router.post("/tenants/{tenant}/domains/{domain}/verify")
async def verify_domain(tenant: str, domain: str, rt: Rt, actor: Caller) -> dict[str, Any]:
    """Look the TXT record up now: ``outcome`` is ``verified`` (the domain routes),
    ``record_missing``, ``value_mismatch`` or ``dns_error``."""
    return await ops.verify(rt, actor, tenant, domain)
