"""One connection in the setup portal (``/portal/sso/connections/{id}``): the values to paste
into the IdP, the attribute mapping with a preview from the last test sign-in, certificate
expiry warnings, "Test connection" (a real sign-in against the IdP in a new tab that starts
no session: ``signin/connection_test.py``), its result (``/portal/sso/tests/{id}``),
"Activate" and "Deactivate". Only the grant's tenant's connections and tests are found:
another tenant's id is a 404."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from propylon.admin import oidc_connections as oidc_ops
from propylon.admin import saml_connections as saml_ops
from propylon.api.authorize import redirect_to_idp
from propylon.api.pages import render
from propylon.api.portal_auth import portal_grant
from propylon.api.portal_sso_forms import (
    read_sso_form,
    runtime,
    tenant_connection,
)
from propylon.api.portal_sso_mapping import mapping_changes, mapping_rows
from propylon.api.portal_sso_routes import NO_STORE, sso_nav
from propylon.errors import InvalidInput, NotFound
from propylon.oidc.errors import OidcError
from propylon.portal.model import PortalGrant
from propylon.setup import guides
from propylon.setup.tests_store import get_test, latest_test
from propylon.signin.connection_test import start_test
from propylon.tenants.oidc_connection_edits import OidcConnectionChanges
from propylon.tenants.saml_connection_edits import ConnectionChanges

router = APIRouter(include_in_schema=False)
RESULT_PATH = "/portal/sso/tests/{test_id}"
NOTICES: dict[str, dict[str, str]] = {
    "created": {
        "kind": "ok",
        "text": "Draft created. It is live for no one until you activate it.",
    },
    "activated": {
        "kind": "ok",
        "text": "Activated: people of your organisation can sign in with it.",
    },
    "deactivated": {
        "kind": "warn",
        "text": "Deactivated: no one can sign in with it, and the sessions it started ended.",
    },
    "mapped": {"kind": "ok", "text": "Attribute mapping saved."},
    "unchanged": {"kind": "ok", "text": "Nothing changed."},
}
"""The notice a page shows after a change (Post/Redirect/Get: a reload sends nothing again)."""
VENDOR_OF_PRESET = {"okta": "okta", "entra": "entra", "google": "google"}


def _missing(grant: PortalGrant) -> Response:
    return render(
        "portal/sso_missing.html", 404, title="Not found", grant=grant, nav=sso_nav(grant)
    )


def vendor_of(view: dict[str, Any], asked: str | None) -> str:
    """The IdP whose words the remedies use: the one asked for, else the preset's."""
    if asked in dict(guides.IDPS):
        return asked
    return VENDOR_OF_PRESET.get(str(view.get("preset", "")), "generic")


def paste_values(view: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``(key, label, value)`` of every value to paste into the IdP."""
    labels = guides.value_labels(view["protocol"])
    return [(k, label, str(view[k])) for k, label in labels.items() if view.get(k)]


async def connection_page(
    request: Request,
    grant: PortalGrant,
    connection_id: str,
    *,
    errors: list[tuple[str | None, str]] | None = None,
) -> Response:
    rt = runtime(request)
    try:
        view = await tenant_connection(rt, grant, connection_id)
    except NotFound:
        return _missing(grant)
    latest = await latest_test(rt.db, connection_id, grant.tenant_id)
    finished = latest if latest is None or latest.status != "pending" else None
    if finished is None and latest is not None:
        finished = await latest_test(rt.db, connection_id, grant.tenant_id, finished=True)
    params = request.query_params
    notice = None if errors else next((NOTICES[k] for k in NOTICES if params.get(k)), None)
    return render(
        "portal/sso_connection.html",
        400 if errors else 200,
        title=view["name"],
        grant=grant,
        nav=sso_nav(grant),
        conn=view,
        pastes=paste_values(view),
        mapping=mapping_rows(view, finished),
        latest=finished,
        pending=latest if latest is not None and latest.status == "pending" else None,
        vendor=vendor_of(view, params.get("idp")),
        idps=guides.IDPS,
        notice=notice,
        errors=errors or [],
    )


def _done(connection_id: str, what: str) -> Response:
    target = f"/portal/sso/connections/{connection_id}?{what}=1"
    return RedirectResponse(target, 303, headers=NO_STORE)


@router.get("/portal/sso/connections/{connection_id}")
async def show_connection(request: Request, connection_id: str) -> Response:
    grant = await portal_grant(request, "sso")
    return await connection_page(request, grant, connection_id)


async def _update(
    request: Request, grant: PortalGrant, view: dict[str, Any], **change: Any
) -> None:
    rt = runtime(request)
    if view["protocol"] == "saml":
        await saml_ops.update_connection(
            rt, grant.actor, view["connection_id"], ConnectionChanges(**change)
        )
    else:
        await oidc_ops.update_connection(
            rt, grant.actor, view["connection_id"], OidcConnectionChanges(**change)
        )


async def _form_and_view(
    request: Request, connection_id: str
) -> tuple[PortalGrant, dict[str, str], dict[str, Any] | None]:
    grant = await portal_grant(request, "sso")
    form = await read_sso_form(request, grant)
    try:
        view = await tenant_connection(runtime(request), grant, connection_id)
    except NotFound:
        return grant, form, None
    return grant, form, view


@router.post("/portal/sso/connections/{connection_id}/activate")
async def activate(request: Request, connection_id: str) -> Response:
    grant, _form, view = await _form_and_view(request, connection_id)
    if view is None:
        return _missing(grant)
    try:
        await _update(request, grant, view, disabled=False)
    except InvalidInput as exc:  # e.g. a connection to the test IdP never goes live
        return await connection_page(
            request, grant, connection_id, errors=[(None, f"Not activated: {exc.detail}")]
        )
    return _done(connection_id, "activated")


@router.post("/portal/sso/connections/{connection_id}/deactivate")
async def deactivate(request: Request, connection_id: str) -> Response:
    grant, _form, view = await _form_and_view(request, connection_id)
    if view is None:
        return _missing(grant)
    await _update(request, grant, view, disabled=True)
    return _done(connection_id, "deactivated")


@router.post("/portal/sso/connections/{connection_id}/mapping")
async def save_mapping(request: Request, connection_id: str) -> Response:
    grant, form, view = await _form_and_view(request, connection_id)
    if view is None:
        return _missing(grant)
    try:
        overrides = mapping_changes(view, form)
        if overrides:
            key = "attribute_overrides" if view["protocol"] == "saml" else "claim_overrides"
            await _update(request, grant, view, **{key: overrides})
    except InvalidInput as exc:
        return await connection_page(
            request, grant, connection_id, errors=[("map-email", exc.detail)]
        )
    return _done(connection_id, "mapped" if overrides else "unchanged")


@router.post("/portal/sso/connections/{connection_id}/test")
async def test_connection(request: Request, connection_id: str) -> Response:
    """Start a test sign-in: this (new) tab goes to the IdP, and comes back to the result."""
    grant, form, view = await _form_and_view(request, connection_id)
    if view is None:
        return _missing(grant)
    rt = runtime(request)
    vendor = vendor_of(view, form.get("idp"))
    try:
        started, _test_id = await start_test(
            rt, connection_id, grant.tenant_id, grant.actor, RESULT_PATH, vendor=vendor
        )
    except NotFound:
        return _missing(grant)
    except (InvalidInput, OidcError) as exc:  # the OP's discovery unreachable, for one
        problem: list[tuple[str | None, str]] = [(None, f"The test could not start: {exc.detail}")]
        return await connection_page(request, grant, connection_id, errors=problem)
    return redirect_to_idp(rt, started, 303)


@router.get("/portal/sso/connections/{connection_id}/metadata")
async def sp_metadata(request: Request, connection_id: str) -> Response:
    """Propylon's SP metadata of the tenant's SAML connection, draft or live, as a file to
    download and upload into the IdP."""
    grant = await portal_grant(request, "sso")
    rt = runtime(request)
    try:
        xml = await saml_ops.sp_metadata(rt, connection_id, grant.tenant_id)
    except NotFound:
        return _missing(grant)
    disposition = f'attachment; filename="propylon-sp-{connection_id}.xml"'
    headers = {**NO_STORE, "Content-Disposition": disposition}
    return Response(xml, media_type="application/samlmetadata+xml", headers=headers)


@router.get("/portal/sso/tests/{test_id}")
async def test_result(request: Request, test_id: str) -> Response:
    grant = await portal_grant(request, "sso")
    rt = runtime(request)
    try:
        test = await get_test(rt.db, test_id, grant.tenant_id)
        view = await tenant_connection(rt, grant, test.connection_id)
    except NotFound:
        return _missing(grant)
    return render(
        "portal/sso_test.html",
        title="Test result" if test.status != "pending" else "Test in progress",
        grant=grant,
        nav=sso_nav(grant),
        test=test,
        conn=view,
        mapping=mapping_rows(view, test),
    )
