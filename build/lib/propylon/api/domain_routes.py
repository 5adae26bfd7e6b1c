"""Management API for email domains: ``/api/v1/tenants/{tenant}/domains`` (the same
functions as ``propylon domain …``, :mod:`propylon.admin.domains`), and discovery
(``/api/v1/discovery``) for a host platform that keeps its own login box.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from propylon.admin import domains as ops
from propylon.api.email_first import login_router, with_params
from propylon.api.http import StandardInputRoute
from propylon.api.mgmt_routes import PROBLEMS, STRICT, Caller, Rt
from propylon.errors import InvalidInput
from propylon.signin.saml_sso import is_local_authorize
from propylon.tenants.individuals import INDIVIDUALS_SLUG
from propylon.tenants.login_routes import email_domain

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


@router.get("/discovery")
async def discovery(
    email: Annotated[str, Query(max_length=320, examples=["ada@acme.com"])],
    rt: Rt,
    _: Caller,
    return_to: Annotated[
        str | None,
        Query(
            max_length=4096,
            description="The authorization request to resume (a local /oauth2/authorize?… "
            "URL); without it the person lands in the platform's default app.",
        ),
    ] = None,
) -> dict[str, Any]:
    """How the person with this email signs in: whether SSO applies, their tenant and
    connection, the other methods allowed (``password``, ``google``), and ``login_url``,
    the Propylon URL to send them to."""
    if email_domain(email) is None:
        raise InvalidInput("email must be an address with a domain")
    if return_to is not None and not is_local_authorize(return_to):
        raise InvalidInput("return_to must be a local /oauth2/authorize?… URL")
    async with rt.db.read() as s:
        route = await login_router(rt).route(
            s, login_hint=email, organization=None, copies=rt.sign_in.routes
        )
    sso = route.kind == "sso"
    tenant = None
    if route.tenant_id is not None:
        tenant = {"id": route.tenant_id, "slug": route.tenant_slug, "name": route.tenant_name}
    connection = {"id": route.connection_id, "protocol": route.protocol} if sso else None
    slug = route.tenant_slug or INDIVIDUALS_SLUG
    login_url = rt.settings.public_url.rstrip("/") + with_params(
        f"/login/{slug}", login_hint=email, return_to=return_to
    )
    return {
        "sso": sso,
        "tenant": tenant,
        "connection": connection,
        "methods": (["sso"] if sso else []) + list(route.methods),
        "enforce_sso": route.enforce_sso,
        "login_url": login_url,
    }
