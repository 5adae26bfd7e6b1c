"""The portal's roles page: the tenant's rules that turn directory groups and attributes into
roles, a tier and programs, edited as JSON against the platform's catalogue (listed on the
page); "Preview" is a dry run naming whose entitlements would change, "Save" stores the next
version and recomputes the tenant's users (both through :mod:`propylon.admin.entitlements`,
always for the portal session's tenant)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from propylon.admin import entitlements as ops
from propylon.api.http import loads_standard
from propylon.api.portal_auth import portal_grant, read_portal_form
from propylon.api.portal_pages import portal_page, rt_of
from propylon.errors import InvalidInput
from propylon.portal.model import PortalGrant

router = APIRouter(include_in_schema=False)
MAX_PREVIEW = 200
"""Users listed by a preview at most (the count is always given)."""


async def _page(
    request: Request,
    grant: PortalGrant,
    *,
    text: str | None = None,
    status: int = 200,
    errors: list[tuple[str | None, str]] | None = None,
    preview: dict[str, Any] | None = None,
    notice: dict[str, str] | None = None,
) -> Response:
    rt = rt_of(request)
    current = await ops.rules_show(rt, grant.tenant_id)
    if text is None:
        text = json.dumps(current["rules"], indent=2, ensure_ascii=False)
    catalogue: dict[str, list[str]] = {}
    for entry in await ops.catalog_list(rt):
        catalogue.setdefault(entry["kind"], []).append(entry["name"])
    return portal_page(
        grant,
        "portal/roles.html",
        "Roles",
        "roles",
        status=status,
        text=text,
        version=current["version"],
        catalogue=catalogue,
        errors=errors or [],
        preview=preview,
        notice=notice,
        max_preview=MAX_PREVIEW,
    )


@router.get("/portal/roles")
async def roles_page(request: Request) -> Response:
    grant = await portal_grant(request, "roles")
    return await _page(request, grant)


@router.post("/portal/roles")
async def preview_or_save(request: Request) -> Response:
    grant = await portal_grant(request, "roles")
    form = await read_portal_form(request, grant)
    text = form.get("rules", "")
    try:
        doc = loads_standard(text.encode("utf-8"))
    except json.JSONDecodeError as exc:
        message = f"The rules are not valid JSON: {exc.msg} (line {exc.lineno})"
        return await _page(request, grant, text=text, status=400, errors=[("rules", message)])
    except (ValueError, RecursionError) as exc:
        # NonStandardJson / UnstorableText (nesting past MAX_DEPTH, NaN, huge numbers, NUL)
        # or nesting so deep the parser itself gives up.
        message = f"The rules are not accepted: {str(exc) or 'nested too deeply'}"
        return await _page(request, grant, text=text, status=400, errors=[("rules", message)])
    rt = rt_of(request)
    try:
        if form.get("action") == "save":
            saved = await ops.rules_set(rt, grant.actor, grant.tenant_id, doc)
            changed = saved["users_changed"]
            notice = {
                "kind": "ok",
                "text": f"Saved as version {saved['version']}: {changed} "
                f"user{'s' if changed != 1 else ''}' entitlements changed.",
            }
            return await _page(request, grant, notice=notice)
        preview = await ops.rules_dry_run(rt, grant.tenant_id, doc)
    except InvalidInput as exc:
        return await _page(request, grant, text=text, status=400, errors=[("rules", exc.detail)])
    return await _page(request, grant, text=text, preview=preview)
