"""The single sign-on section of the setup portal: the protocol and IdP choice with the
tenant's connections (``/portal/sso``), and the guide with its form that creates a draft
connection (``/portal/sso/{saml|oidc}/new?idp=…``).

The values to paste are shown before the connection exists: the page picks the connection's
id (``draft=`` in its address with ``key=``, its HMAC bound to the portal session, so a
reload keeps it, nothing is stored and no browser can choose an id) and the form creates the
connection under that id (its proof checked again), disabled, so it is live for no one until
"Activate" on its page (``api/portal_sso_connection_routes.py``). Every page needs the link's
``sso`` intent."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from propylon.admin import oidc_connections as oidc_ops
from propylon.admin import saml_connections as saml_ops
from propylon.api.pages import render
from propylon.api.portal_auth import portal_grant, portal_nav
from propylon.api.portal_sso_forms import (
    bound_draft,
    draft_is_bound,
    draft_mac,
    new_draft,
    read_sso_form,
    runtime,
    saml_source,
    tenant_connections,
)
from propylon.errors import InvalidInput
from propylon.ids import Kind
from propylon.portal.model import PortalGrant
from propylon.runtime import Runtime
from propylon.setup import guides
from propylon.tenants.oidc_connections import OidcConnectionDraft, rp_urls
from propylon.tenants.saml_connections import sp_urls

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store"}
KINDS = {"saml": Kind.SAML_CONNECTION, "oidc": Kind.OIDC_CONNECTION}
PROTOCOL_NAMES: dict[str, str] = dict(guides.PROTOCOLS)
NOT_BOUND = (
    "This form's connection was not prepared in this session. The values above are new: "
    "paste them into your IdP again, then send the form."
)
EXISTS = "This connection already exists: open it from the single sign-on page."


def sso_nav(grant: PortalGrant) -> list[tuple[str, str, bool]]:
    return portal_nav(grant, "sso")


def values_of(rt: Runtime, protocol: str, connection_id: str) -> dict[str, str]:
    """Propylon's values of the connection ``connection_id`` (whether it exists yet or not)."""
    public = rt.settings.public_url
    if protocol == "saml":
        urls = sp_urls(public, connection_id)
        return urls | {"sp_entity_id": f"{public.rstrip('/')}/saml/{connection_id}"}
    return rp_urls(public, connection_id)


@router.get("/portal/sso")
async def sso_home(request: Request) -> Response:
    grant = await portal_grant(request, "sso")
    rt = runtime(request)
    return render(
        "portal/sso.html",
        title="Single sign-on",
        grant=grant,
        nav=sso_nav(grant),
        connections=await tenant_connections(rt, grant),
        idps=guides.IDPS,
        protocols=guides.PROTOCOLS,
    )


@router.get("/portal/sso/new")
async def choose(request: Request, protocol: str = "saml", idp: str = "generic") -> Response:
    """The choice form's answer (a GET form works without JavaScript): on to the guide."""
    await portal_grant(request, "sso")
    protocol = protocol if protocol in KINDS else "saml"
    idp = idp if idp in dict(guides.IDPS) else "generic"
    return RedirectResponse(f"/portal/sso/{protocol}/new?idp={idp}", 303, headers=NO_STORE)


def _guide_or_none(protocol: str, idp: str) -> guides.Guide | None:
    try:
        return guides.guide(protocol, idp)
    except guides.UnknownGuide:
        return None


def _not_found(grant: PortalGrant) -> Response:
    return render(
        "portal/sso_missing.html",
        404,
        title="Not found",
        grant=grant,
        nav=sso_nav(grant),
    )


def guide_page(
    request: Request,
    grant: PortalGrant,
    g: guides.Guide,
    draft: str,
    *,
    form: dict[str, str] | None = None,
    errors: list[tuple[str | None, str]] | None = None,
) -> Response:
    rt = runtime(request)
    values = values_of(rt, g.protocol, draft)
    steps = [(step, guides.filled(step, values, g.protocol)) for step in g.steps]
    return render(
        f"portal/sso_new_{g.protocol}.html",
        400 if errors else 200,
        title=f"Connect {g.name} with {PROTOCOL_NAMES[g.protocol]}",
        grant=grant,
        nav=sso_nav(grant),
        guide=g,
        steps=steps,
        draft=draft,
        draft_mac=draft_mac(rt, grant, draft),
        values=values,
        form=form or {},
        errors=errors or [],
        test_idp=rt.settings.test_idp_enabled,
    )


@router.get("/portal/sso/{protocol}/new")
async def new_connection(
    request: Request, protocol: str, idp: str = "generic", draft: str = "", key: str = ""
) -> Response:
    grant = await portal_grant(request, "sso")
    g = _guide_or_none(protocol, idp)
    if g is None:
        return _not_found(grant)
    kind = KINDS[protocol]
    if not draft_is_bound(runtime(request), grant, kind, draft, key):
        # pick the id once for this session, keep it (with its proof) in the address
        draft, key = new_draft(runtime(request), grant, kind)
        query = urlencode({"idp": idp, "draft": draft, "key": key})
        return RedirectResponse(f"/portal/sso/{protocol}/new?{query}", 303, headers=NO_STORE)
    return guide_page(request, grant, g, draft)


def _flag(form: dict[str, str], name: str) -> bool:
    return form.get(name) in ("on", "true", "1")


async def _create(
    rt: Runtime, grant: PortalGrant, g: guides.Guide, draft: str, form: dict[str, str]
) -> dict[str, Any]:
    name = form.get("name", "").strip()[:255] or f"{g.name} {g.protocol.upper()}"
    if g.protocol == "saml":
        return await saml_ops.create_connection(
            rt,
            grant.actor,
            grant.tenant_id,
            saml_source(form),
            name=name,
            jit=_flag(form, "jit"),
            preset=g.preset,
            disabled=True,
            connection_id=draft,
        )
    issuer, client_id, secret = (form.get(k, "").strip() for k in ("issuer", "client_id", "secret"))
    if not (issuer and client_id and secret):
        raise InvalidInput("Fill in the issuer, the client ID and the client secret.")
    oidc_draft = OidcConnectionDraft(
        issuer=issuer,
        client_id=client_id,
        client_secret=secret,
        preset=g.preset,
        jit=_flag(form, "jit"),
        name=name,
        connection_id=draft,
        disabled=True,
    )
    return await oidc_ops.create_connection(rt, grant.actor, grant.tenant_id, oidc_draft)


@router.post("/portal/sso/{protocol}/new")
async def create_connection(request: Request, protocol: str, idp: str = "generic") -> Response:
    grant = await portal_grant(request, "sso")
    g = _guide_or_none(protocol, idp)
    if g is None:
        return _not_found(grant)
    form = await read_sso_form(request, grant, upload=protocol == "saml")
    kept = {k: v for k, v in form.items() if k not in ("secret", "metadata_file", "cert")}
    draft = bound_draft(runtime(request), grant, KINDS[protocol], form)
    if draft is None:
        draft, _ = new_draft(runtime(request), grant, KINDS[protocol])
        return guide_page(request, grant, g, draft, form=kept, errors=[(None, NOT_BOUND)])
    first = "metadata_file" if protocol == "saml" else "issuer"
    try:
        done = await _create(runtime(request), grant, g, draft, form)
    except InvalidInput as exc:
        return guide_page(request, grant, g, draft, form=kept, errors=[(first, exc.detail)])
    except IntegrityError:  # the same draft created by two forms at once
        return guide_page(request, grant, g, draft, form=kept, errors=[(first, EXISTS)])
    target = f"/portal/sso/connections/{done['connection_id']}?created=1"
    return RedirectResponse(target, 303, headers=NO_STORE)
