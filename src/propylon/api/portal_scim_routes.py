"""The portal's SCIM page: the tenant's directories (base URL to paste into the IdP),
creating one (its token shown once), rotating a token (the new one shown once, the old one
valid for ``PROPYLON_SCIM_TOKEN_GRACE_SECONDS``), and a directory's latest requests with
their outcome, so the admin sees provisioning work. A directory of another tenant is not
found."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from propylon.admin import portal_links
from propylon.admin import tenants as ops
from propylon.api.portal_auth import portal_grant, read_portal_form
from propylon.api.portal_pages import portal_page, rt_of
from propylon.errors import InvalidInput
from propylon.portal.model import PortalGrant
from propylon.runtime import Runtime

router = APIRouter(include_in_schema=False)
MAX_NAME = 255


async def _directory(rt: Runtime, grant: PortalGrant, directory_id: str) -> dict[str, Any] | None:
    for d in await ops.list_directories(rt, grant.tenant_id):
        if d["directory_id"] == directory_id:
            return d
    return None


def _not_found(grant: PortalGrant) -> Response:
    return portal_page(
        grant,
        "portal/scim.html",
        "Directory not found",
        "scim",
        status=404,
        directories=[],
        errors=[(None, "There is no such directory here.")],
        issued=None,
    )


async def _list_page(
    request: Request,
    grant: PortalGrant,
    *,
    status: int = 200,
    issued: dict[str, Any] | None = None,
    errors: list[tuple[str | None, str]] | None = None,
) -> Response:
    rt = rt_of(request)
    return portal_page(
        grant,
        "portal/scim.html",
        "User provisioning (SCIM)",
        "scim",
        status=status,
        directories=await ops.list_directories(rt, grant.tenant_id),
        issued=issued,
        errors=errors or [],
    )


@router.get("/portal/scim")
async def scim_page(request: Request) -> Response:
    grant = await portal_grant(request, "scim")
    return await _list_page(request, grant)


@router.post("/portal/scim")
async def create_directory(request: Request) -> Response:
    """A new directory: its base URL and token, the token shown on this page only."""
    grant = await portal_grant(request, "scim")
    form = await read_portal_form(request, grant)
    name = form.get("name", "").strip() or None
    if name is not None and len(name) > MAX_NAME:
        errors: list[tuple[str | None, str]] = [("name", "The name is too long.")]
        return await _list_page(request, grant, status=400, errors=errors)
    rt = rt_of(request)
    try:
        made = await ops.create_directory(rt, grant.actor, grant.tenant_id, name=name)
    except InvalidInput as exc:
        return await _list_page(request, grant, status=400, errors=[("name", exc.detail)])
    return await _list_page(request, grant, status=201, issued=made)


@router.get("/portal/scim/{directory_id}")
async def directory_page(request: Request, directory_id: str) -> Response:
    grant = await portal_grant(request, "scim")
    rt = rt_of(request)
    directory = await _directory(rt, grant, directory_id)
    if directory is None:
        return _not_found(grant)
    requests = await portal_links.scim_requests(rt, grant.tenant_id, directory_id)
    return portal_page(
        grant,
        "portal/scim_directory.html",
        f"Directory {directory['name']}",
        "scim",
        directory=directory,
        requests=requests,
        issued=None,
    )


@router.post("/portal/scim/{directory_id}/rotate")
async def rotate(request: Request, directory_id: str) -> Response:
    """A new token (shown once); the previous ones keep working for the grace period."""
    grant = await portal_grant(request, "scim")
    form = await read_portal_form(request, grant)
    del form
    rt = rt_of(request)
    directory = await _directory(rt, grant, directory_id)
    if directory is None:
        return _not_found(grant)
    issued = await ops.rotate_token(rt, grant.actor, directory_id)
    requests = await portal_links.scim_requests(rt, grant.tenant_id, directory_id)
    return portal_page(
        grant,
        "portal/scim_directory.html",
        f"Directory {directory['name']}",
        "scim",
        directory=directory,
        requests=requests,
        issued=issued,
    )
