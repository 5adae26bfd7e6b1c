"""Management API ``/api/v1`` for the host platform, authenticated by API keys.

Every handler calls one function of :mod:`propylon.admin.tenants`, the same the CLI
calls. FastAPI serves the OpenAPI document at ``/openapi.json``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from propylon.admin import directories as people
from propylon.admin import tenants as ops
from propylon.api.client_address import client_key
from propylon.api.http import StandardInputRoute
from propylon.audit import Actor
from propylon.audit.auth_failures import Failure
from propylon.directory.views import UserFilter
from propylon.errors import Unauthenticated
from propylon.runtime import Runtime
from propylon.scim.errors import TooManyRequests
from propylon.tenants.api_keys import authenticate_api_key
from propylon.tenants.credentials import hash_secret
from propylon.tenants.service import MAX_SEATS, SLUG_RE, SignInPolicy

_bearer = HTTPBearer(
    auto_error=False, description="A management API key (`propylon api-key create`)."
)


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


async def api_actor(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """The caller's API key. Failed authentication is limited per client address and audited
    in aggregate (``audit/auth_failures.py``); the per-key limit counts every request."""
    rt = runtime(request)
    guard = rt.auth_failures
    address = client_key(request.scope, rt.settings)
    credential = "api:" + hash_secret(creds.credentials)[:32] if creds is not None else None
    wait = guard.refused(address, credential, "management_api")
    if wait is not None:
        raise TooManyRequests(
            "too many failed authentications from this address",
            headers={"Retry-After": str(wait)},
        )
    request_id = request.state.request_id
    if creds is None or credential is None:
        reason = "an API key is required (Authorization: Bearer pk_…)"
        await guard.failed(Failure("management_api", address, reason, request_id, guessed=False))
        raise Unauthenticated(reason)
    decision = await rt.cache.rate_hit(credential, rt.settings.api_rate_limit_per_minute, 60)
    if not decision.allowed:
        raise TooManyRequests(
            "rate limit exceeded", headers={"Retry-After": str(decision.retry_after)}
        )
    try:
        async with rt.db.read() as s:
            key = await authenticate_api_key(s, creds.credentials)
    except Unauthenticated as exc:
        failure = Failure("management_api", address, exc.detail, request_id, credential)
        await guard.failed(failure)
        raise
    guard.succeeded(credential)
    return Actor("api_key", key.id)


Rt = Annotated[Runtime, Depends(runtime)]
Caller = Annotated[Actor, Depends(api_actor)]


class Problem(BaseModel):
    """An RFC 9457 problem document, the body of every management API error."""

    type: str = Field(examples=["about:blank"])
    title: str = Field(examples=["NotFound"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["no tenant 'acme'"])


PROBLEMS: dict[int | str, dict[str, Any]] = {
    # One range entry: it also stands in for FastAPI's default 422, which this API never
    # sends (a request that fails validation is a 400 problem, ``api/errors.py``).
    "4XX": {
        "description": "A problem document: invalid request (400), missing or unknown API key "
        "(401), not found (404), conflict (409), rate limited (429, with Retry-After).",
        "content": {"application/problem+json": {"schema": Problem.model_json_schema()}},
    },
}
router = APIRouter(
    prefix="/api/v1", tags=["management"], responses=PROBLEMS, route_class=StandardInputRoute
)


STRICT = ConfigDict(strict=True)
"""Request bodies take JSON types as they are: ``0`` is not ``false``, ``"5"`` not ``5``."""
MAX_OFFSET = 2**31 - 1
NAME_CHARS = 255
"""Names are stored in ``String(255)`` columns (``db/tables.py``): a longer one is a 400."""


class TenantIn(BaseModel):
    model_config = STRICT
    slug: str = Field(examples=["acme"], pattern=SLUG_RE.pattern)
    name: str = Field(examples=["Acme Corp"], min_length=1, max_length=NAME_CHARS)
    domains: list[str] = Field(default_factory=list, examples=[["acme.com"]])
    seats: int | None = Field(default=None, ge=0, le=MAX_SEATS)


class TenantPatch(BaseModel):
    model_config = STRICT
    name: str | None = Field(default=None, min_length=1, max_length=NAME_CHARS)
    seats: int | None = Field(default=None, ge=0, le=MAX_SEATS)
    unlimited_seats: bool = False
    enforce_sso: bool | None = Field(
        default=None,
        description="Only SSO for the tenant's domains (needs an enabled SAML or OIDC "
        "connection); starting it ends their password and Google sessions.",
    )
    allow_password: bool | None = None
    allow_google: bool | None = None
    hostname: str | None = Field(
        default=None,
        max_length=253,
        description="Vanity host name whose sign-in goes straight to the SSO; null removes it.",
    )


class DirectoryIn(BaseModel):
    model_config = STRICT
    name: str | None = Field(default=None, max_length=NAME_CHARS)


@router.post("/tenants", status_code=201)
async def create_tenant(body: TenantIn, rt: Rt, actor: Caller) -> dict[str, Any]:
    view = await ops.create_tenant(
        rt, actor, slug=body.slug, name=body.name, domains=body.domains, seats=body.seats
    )
    return view.as_dict()


@router.get("/tenants")
async def list_tenants(rt: Rt, _: Caller) -> dict[str, Any]:
    return {"data": [t.as_dict() for t in await ops.list_tenants(rt)]}


@router.get("/tenants/{tenant}")
async def get_tenant(tenant: str, rt: Rt, _: Caller) -> dict[str, Any]:
    return (await ops.describe_tenant(rt, tenant)).as_dict()


@router.patch("/tenants/{tenant}")
async def update_tenant(tenant: str, body: TenantPatch, rt: Rt, actor: Caller) -> dict[str, Any]:
    seats: int | bool | None = (
        None if body.unlimited_seats else (body.seats if body.seats is not None else False)
    )
    policy = SignInPolicy(
        body.enforce_sso,
        body.allow_password,
        body.allow_google,
        (body.hostname or "") if "hostname" in body.model_fields_set else None,
    )
    view = None
    if policy == SignInPolicy() or body.name is not None or seats is not False:
        view = await ops.update_tenant(rt, actor, tenant, name=body.name, seats=seats)
    if policy != SignInPolicy():
        view = await ops.set_sign_in_policy(rt, actor, tenant, policy)
    assert view is not None
    return view.as_dict()


@router.delete("/tenants/{tenant}")
async def delete_tenant(tenant: str, rt: Rt, actor: Caller) -> dict[str, Any]:
    """Delete a tenant: sign-ins end, tokens are revoked and connections disabled at once; its
    data is kept for the retention period, then purged."""
    return await ops.delete_tenant(rt, actor, tenant)


@router.post("/tenants/{tenant}/scim-directories", status_code=201)
async def create_directory(
    tenant: str, rt: Rt, actor: Caller, body: DirectoryIn | None = None
) -> dict[str, str]:
    return await ops.create_directory(rt, actor, tenant, name=body.name if body else None)


@router.get("/tenants/{tenant}/scim-directories")
async def list_directories(tenant: str, rt: Rt, _: Caller) -> dict[str, Any]:
    return {"data": await ops.list_directories(rt, tenant)}


@router.post("/scim-directories/{directory_id}/rotate-token")
async def rotate_token(directory_id: str, rt: Rt, actor: Caller) -> dict[str, str]:
    return await ops.rotate_token(rt, actor, directory_id)


@router.post("/scim-directories/{directory_id}/revoke-token")
async def revoke_token(directory_id: str, rt: Rt, actor: Caller) -> dict[str, Any]:
    return await ops.revoke_tokens(rt, actor, directory_id)


@router.delete("/scim-directories/{directory_id}")
async def delete_directory(directory_id: str, rt: Rt, actor: Caller) -> dict[str, Any]:
    """Revoke the directory's tokens and deprovision its users and groups (kept for the
    retention period)."""
    return await ops.delete_directory(rt, actor, directory_id)


@router.get("/tenants/{tenant}/users")
async def list_users(
    tenant: str,
    rt: Rt,
    _: Caller,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    active: Annotated[bool | None, Query(description="Only active (or inactive) users.")] = None,
    email: Annotated[str | None, Query(max_length=320, description="Exact email.")] = None,
    group: Annotated[
        str | None, Query(max_length=64, description="Only direct members of this group id.")
    ] = None,
) -> dict[str, Any]:
    """The tenant's users (deprovisioned ones left out), oldest first."""
    where = UserFilter(active=active, email=email, group_id=group)
    return {"data": await people.list_users(rt, tenant, offset=offset, limit=limit, where=where)}


@router.get("/tenants/{tenant}/users/{user_id}")
async def get_user(tenant: str, user_id: str, rt: Rt, _: Caller) -> dict[str, Any]:
    """One user with the groups it is a direct member of."""
    return await people.get_user(rt, tenant, user_id)


@router.get("/tenants/{tenant}/groups")
async def list_groups(
    tenant: str,
    rt: Rt,
    _: Caller,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """The tenant's groups, oldest first."""
    return {"data": await people.list_groups(rt, tenant, offset=offset, limit=limit)}


@router.get("/tenants/{tenant}/groups/{group_id}")
async def get_group(tenant: str, group_id: str, rt: Rt, _: Caller) -> dict[str, Any]:
    """One group with its members (the first 1000; ``member_count`` is the total)."""
    return await people.get_group(rt, tenant, group_id)


@router.get("/api-keys")
async def list_api_keys(rt: Rt, _: Caller) -> dict[str, Any]:
    """Every management API key (names and dates; the keys are stored only as hashes)."""
    return {"data": await ops.list_api_keys(rt)}


@router.get("/tenants/{tenant}/audit")
async def audit(
    tenant: str,
    rt: Rt,
    _: Caller,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    action: str | None = None,
) -> dict[str, Any]:
    return {"data": await ops.audit_trail(rt, tenant, limit=limit, action=action)}


@router.get("/audit")
async def audit_all(
    rt: Rt,
    _: Caller,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    action: str | None = None,
) -> dict[str, Any]:
    """The whole trail, newest first: every tenant's entries and the platform's own (apps,
    API keys, signing keys)."""
    return {"data": await ops.audit_trail(rt, None, limit=limit, action=action)}
