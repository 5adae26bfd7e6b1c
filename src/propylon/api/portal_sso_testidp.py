""" "Use Propylon's test IdP" on the portal's SAML and OIDC guides: a draft connection of the
tenant to the built-in test IdP (``testidp/``), only while it is enabled
(``PROPYLON_TEST_IDP_ENABLED``), so the whole setup, test connection included, can be tried
with no real IdP. The SAML side takes the test IdP's metadata in-process (no URL fetched);
the OIDC side registers a ``test-client-…`` client whose secret the test provider derives."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from propylon.admin.test_idp import connect_test_idp
from propylon.api.portal_auth import portal_grant
from propylon.api.portal_sso_forms import bound_draft, read_sso_form, runtime
from propylon.api.portal_sso_routes import KINDS, NO_STORE, guide_page
from propylon.errors import InvalidInput
from propylon.setup import guides
from propylon.tenants.connection_ids import draft_id

router = APIRouter(include_in_schema=False)


@router.post("/portal/sso/{protocol}/test-idp")
async def use_test_idp(request: Request, protocol: str) -> Response:
    grant = await portal_grant(request, "sso")
    rt = runtime(request)
    form = await read_sso_form(request, grant)
    if protocol not in KINDS or not rt.settings.test_idp_enabled:
        return RedirectResponse("/portal/sso", 303, headers=NO_STORE)
    kind = KINDS[protocol]
    draft = bound_draft(rt, grant, kind, form) or draft_id(kind, None)
    try:
        done = await connect_test_idp(
            rt,
            grant.actor,
            grant.tenant_id,
            "saml" if protocol == "saml" else "oidc",
            connection_id=draft,
            disabled=True,
        )
    except InvalidInput as exc:
        g = guides.guide(protocol, "generic")
        problem = f"The test IdP could not be connected: {exc.detail}"
        return guide_page(request, grant, g, draft, errors=[(None, problem)])
    target = f"/portal/sso/connections/{done['connection_id']}?created=1"
    return RedirectResponse(target, 303, headers=NO_STORE)
