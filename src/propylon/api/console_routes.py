"""The operator console's tenant pages (``/admin``): tenants, one tenant's connections,
directories and domains, its people (by exact email, or page by page), a person's sessions
and their revocation. Each page needs a live console session
(:func:`propylon.api.console_auth.console_session`); each POST this browser's CSRF token; a
change is audited as the operator who made it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from propylon import errors
from propylon.admin import directories, domains, oidc_connections, saml_connections, sessions
from propylon.admin import tenants as tenant_ops
from propylon.admin.operators import actor_of
from propylon.api.console_auth import console_session
from propylon.api.console_pages import console_form, console_message, console_page
from propylon.api.oauth_adapter import runtime_of
from propylon.directory.views import UserFilter
from propylon.ids import plausible
from propylon.operators.console_sessions import Signed
from propylon.passwords.store import normalise_email

router = APIRouter(tags=["console"], include_in_schema=False)
Operator = Annotated[Signed, Depends(console_session)]
PAGE = 50


def not_found(request: Request, signed: Signed, what: str) -> Response:
    return console_message(request, signed, 404, "Not found", f"There is no {what} by that id.")


@router.get("/admin")
async def tenants_page(request: Request, signed: Operator) -> Response:
    rows = await tenant_ops.list_tenants(runtime_of(request))
    return console_page(
        request, signed, "console/tenants.html", title="Tenants", current="tenants", tenants=rows
    )


def _connections(saml: list[dict[str, Any]], oidc: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = [
        {
            "connection_id": c["connection_id"],
            "name": c["name"],
            "protocol": "SAML",
            "idp": c["idp_entity_id"],
            "disabled": c["disabled"],
            "expiring_soon": c["expiring_soon"],
            "expires": [e[:10] for e in c["idp_certificates_expire"]],
            "sp_metadata": f"/saml/{c['connection_id']}/metadata",
        }
        for c in saml
    ]
    out += [
        {
            "connection_id": c["connection_id"],
            "name": c["name"],
            "protocol": "OpenID Connect",
            "idp": c["issuer"],
            "disabled": c["disabled"],
            "expiring_soon": False,
            "expires": [],
            "sp_metadata": None,
        }
        for c in oidc
    ]
    return out


@router.get("/admin/tenants/{ref}")
async def tenant_page(request: Request, ref: str, signed: Operator) -> Response:
    rt = runtime_of(request)
    if not plausible(ref):
        return not_found(request, signed, "tenant")
    try:
        tenant = await tenant_ops.describe_tenant(rt, ref)
        saml = await saml_connections.list_connections(rt, tenant.id)
        oidc = await oidc_connections.list_connections(rt, tenant.id)
        dirs = await tenant_ops.list_directories(rt, tenant.id)
        doms = await domains.list_domains(rt, tenant.id)
    except errors.NotFound:
        return not_found(request, signed, "tenant")
    return console_page(
        request,
        signed,
        "console/tenant.html",
        title=tenant.name,
        current="tenants",
        tenant=tenant,
        connections=_connections(saml, oidc),
        directories=dirs,
        domains=doms,
    )


@router.get("/admin/tenants/{ref}/users")
async def users_page(
    request: Request, ref: str, signed: Operator, email: str = "", offset: int = 0
) -> Response:
    rt = runtime_of(request)
    if not plausible(ref):
        return not_found(request, signed, "tenant")
    offset = max(0, min(offset, 10_000_000))
    wanted = normalise_email(email[:320]) if email else None
    try:
        tenant = await tenant_ops.describe_tenant(rt, ref)
        if email and wanted is None:
            users: list[dict[str, Any]] = []
        else:
            where = UserFilter(email=wanted) if wanted else None
            users = await directories.list_users(
                rt, tenant.id, offset=0 if wanted else offset, limit=PAGE, where=where
            )
    except errors.NotFound:
        return not_found(request, signed, "tenant")
    return console_page(
        request,
        signed,
        "console/users.html",
        title="People",
        current="tenants",
        tenant=tenant,
        users=users,
        email=email[:320],
        offset=offset,
        limit=PAGE,
    )


async def _user_and_sessions(
    request: Request, ref: str, user_id: str
) -> tuple[Any, dict[str, Any], list[dict[str, Any]]]:
    """The tenant, its user and their active sessions; NotFound for another tenant's user."""
    rt = runtime_of(request)
    if not (plausible(ref) and plausible(user_id)):
        raise errors.NotFound("no user")
    tenant = await tenant_ops.describe_tenant(rt, ref)
    user = await directories.get_user(rt, tenant.id, user_id)
    live = [x for x in await sessions.list_sessions(rt, user["id"]) if x["active"]]
    return tenant, user, live


@router.get("/admin/tenants/{ref}/users/{user_id}")
async def user_page(request: Request, ref: str, user_id: str, signed: Operator) -> Response:
    try:
        tenant, user, live = await _user_and_sessions(request, ref, user_id)
    except errors.NotFound:
        return not_found(request, signed, "person")
    notice = None
    if done := request.query_params.get("revoked"):
        notice = {"kind": "ok", "text": f"{done} session(s) revoked."}
    return console_page(
        request,
        signed,
        "console/user.html",
        title=user["display_name"] or user["user_name"] or user["id"],
        current="tenants",
        tenant=tenant,
        user=user,
        sessions=live,
        notice=notice,
    )


@router.post("/admin/tenants/{ref}/users/{user_id}/sessions/revoke")
async def revoke(request: Request, ref: str, user_id: str, signed: Operator) -> Response:
    form = await console_form(request)
    if isinstance(form, Response):
        return form
    rt = runtime_of(request)
    try:
        tenant, user, live = await _user_and_sessions(request, ref, user_id)
    except errors.NotFound:
        return not_found(request, signed, "person")
    actor = actor_of(signed)
    if form.get("all") == "1":
        await sessions.revoke_user_sessions(rt, actor, user["id"])
        count = len(live)
    else:
        sid = form.get("session", "")
        if sid not in {x["id"] for x in live}:
            return not_found(request, signed, "active session of this person")
        await sessions.revoke_session(rt, actor, sid)
        count = 1
    where = f"/admin/tenants/{tenant.id}/users/{user['id']}?revoked={count}"
    return RedirectResponse(where, status_code=303)
