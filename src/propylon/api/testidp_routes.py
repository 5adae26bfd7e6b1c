"""The test IdP's SAML side (``/test-idp/saml/…``) and what both sides share: 404 unless
``PROPYLON_TEST_IDP_ENABLED``; the page where a person picks who they are and a scenario.

It answers only Propylon's own SAML connections that trust it (their IdP entity id is the
test IdP's), drafts included, at the ACS URL Propylon gives them: an AuthnRequest naming
another ACS, or an issuer that is not the connection's, is refused. Nothing is stored: an
anonymous visitor writes nothing, the picked answer travels in the form.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from propylon.admin.test_idp import answered_saml
from propylon.api.authorize import too_many_sign_ins
from propylon.api.http import read_form
from propylon.api.pages import page, render
from propylon.runtime import Runtime
from propylon.saml.errors import SamlValidationError
from propylon.tenants.saml_connections import sp_urls
from propylon.testidp.identity import saml_entity_id, saml_identity, test_keys
from propylon.testidp.picker import read_choice
from propylon.testidp.saml_idp import BINDING_POST, BINDING_REDIRECT, read_authn_request
from propylon.testidp.saml_response import SamlAnswer, build_response, encode_response
from propylon.testidp.scenarios import scenarios_for

_FORM_BYTES = 128 * 1024
_MAX_RELAY_STATE = 1024


def _rt(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def enabled(request: Request) -> None:
    """Every ``/test-idp/`` URL is 404 while the test IdP is off."""
    if not _rt(request).settings.test_idp_enabled:
        raise HTTPException(404)


router = APIRouter(prefix="/test-idp", include_in_schema=False, dependencies=[Depends(enabled)])


async def too_many_answers(rt: Runtime, request: Request) -> Response | None:
    """Signed answers per client address and minute, counted in the accelerator (nothing
    written) under ``PROPYLON_SIGN_IN_START_RATE_LIMIT_PER_MINUTE``: a 429 page past it."""
    limit = rt.settings.sign_in_start_rate_limit_per_minute
    return await too_many_sign_ins(rt, request, "test-idp-answer", limit)


def refused(message: str, status: int = 400) -> HTMLResponse:
    return page(status, "Test IdP", message)


def picker_page(
    *,
    action: str,
    hidden: Sequence[tuple[str, str]],
    protocol: str,
    target: str,
    people: list[Any],
    values: dict[str, str] | None = None,
    errors: list[tuple[str, str]] | None = None,
) -> HTMLResponse:
    values = values or {}
    return render(
        "testidp/picker.html",
        400 if errors else 200,
        title="Test IdP: who signs in?",
        action=action,
        hidden=hidden,
        protocol_label="SAML" if protocol == "saml" else "OpenID Connect",
        target=target,
        suggestions=people,
        scenarios=scenarios_for(protocol),
        values={
            k: values.get(k, "")
            for k in ("email", "first_name", "last_name", "department", "groups")
        },
        errors=errors or [],
        checked=values.get("scenario", "success"),
    )


def _connection_of_acs(rt: Runtime, acs_url: str | None) -> str | None:
    """The connection id in one of Propylon's ACS URLs (None for any other URL)."""
    prefix = f"{rt.settings.public_url.rstrip('/')}/saml/"
    if not acs_url or not acs_url.startswith(prefix) or not acs_url.endswith("/acs"):
        return None
    cid = acs_url[len(prefix) : -len("/acs")]
    return (
        cid
        if cid and "/" not in cid and sp_urls(rt.settings.public_url, cid)["acs_url"] == acs_url
        else None
    )


@router.get("/saml/metadata")
async def saml_metadata(request: Request) -> Response:
    """The test IdP's SAML metadata (SAML Metadata 2.0 §2.4.3)."""
    identity = await saml_identity(_rt(request))
    return Response(identity.metadata_xml, media_type="application/samlmetadata+xml")


async def _sso(
    request: Request, value: str | None, relay_state: str | None, binding: str
) -> Response:
    rt = _rt(request)
    if not value:
        return refused("The sign-in request is missing.")
    if relay_state is not None and len(relay_state) > _MAX_RELAY_STATE:
        return refused("The sign-in request's RelayState is too long.")
    try:
        req = read_authn_request(value, binding)
    except SamlValidationError:
        return refused("The sign-in request could not be read.")
    cid = _connection_of_acs(rt, req.acs_url)
    conn, people = await answered_saml(rt, cid) if cid else (None, [])
    if conn is None or conn.sp_entity_id != req.issuer:
        return refused(
            "The test IdP answers only Propylon's own SAML connections that trust it, at "
            "their assertion consumer service URL."
        )
    hidden = [("connection_id", conn.id), ("request_id", req.id)]
    if relay_state is not None:
        hidden.append(("relay_state", relay_state))
    return picker_page(
        action="/test-idp/saml/answer",
        hidden=hidden,
        protocol="saml",
        target=conn.id,
        people=people,
    )


@router.get("/saml/sso")
async def saml_sso_redirect(request: Request) -> Response:
    """SSO over HTTP-Redirect (Bindings §3.4): the picker for the AuthnRequest."""
    q = request.query_params
    return await _sso(request, q.get("SAMLRequest"), q.get("RelayState"), BINDING_REDIRECT)


@router.post("/saml/sso")
async def saml_sso_post(request: Request) -> Response:
    """SSO over HTTP-POST (Bindings §3.5)."""
    try:
        form = await read_form(request, _FORM_BYTES)
    except ValueError:
        return refused("The sign-in request could not be read.")
    return await _sso(request, form.get("SAMLRequest"), form.get("RelayState"), BINDING_POST)


@router.get("/saml/start")
async def saml_start(request: Request, connection_id: str = "") -> Response:
    """IdP-initiated sign-in (SAML Profiles §4.1.5) into a connection that trusts the test
    IdP (the connection decides whether it accepts unsolicited Responses)."""
    conn, people = await answered_saml(_rt(request), connection_id)
    if conn is None:
        return refused("There is no SAML connection trusting the test IdP by that id.", 404)
    return picker_page(
        action="/test-idp/saml/answer",
        hidden=[("connection_id", conn.id)],
        protocol="saml",
        target=conn.id,
        people=people,
    )


@router.post("/saml/answer")
async def saml_answer(request: Request) -> Response:
    """The picked person and scenario → a signed Response, handed to the ACS by a form."""
    rt = _rt(request)
    if limited := await too_many_answers(rt, request):
        return limited
    try:
        form = await read_form(request, _FORM_BYTES)
    except ValueError:
        return refused("The form could not be read.")
    conn, people = await answered_saml(rt, form.get("connection_id", ""))
    if conn is None:
        return refused("There is no SAML connection trusting the test IdP by that id.", 404)
    request_id = form.get("request_id") or None
    relay_state = form.get("relay_state")
    if (request_id and len(request_id) > 256) or (
        relay_state and len(relay_state) > _MAX_RELAY_STATE
    ):
        return refused("The form could not be read.")
    choice = read_choice(form, "saml")
    if choice.errors:
        hidden = [(k, form[k]) for k in ("connection_id", "request_id", "relay_state") if k in form]
        return picker_page(
            action="/test-idp/saml/answer",
            hidden=hidden,
            protocol="saml",
            target=conn.id,
            people=people,
            values=form,
            errors=choice.errors,
        )
    keys = await test_keys(rt)
    acs_url = sp_urls(rt.settings.public_url, conn.id)["acs_url"]
    answer = SamlAnswer(
        saml_entity_id(rt.settings.public_url), acs_url, conn.sp_entity_id, request_id
    )
    xml = build_response(answer, choice.person, choice.scenario, keys, rt.clock())
    fields = [("SAMLResponse", encode_response(xml))]
    if relay_state:
        fields.append(("RelayState", relay_state))
    summary = [
        ("Email", choice.person.for_scenario(choice.scenario).email),
        ("Scenario", choice.scenario.value),
        ("Answers", "an AuthnRequest" if request_id else "no request (IdP-initiated)"),
    ]
    return render(
        "testidp/post.html",
        title="Test IdP: answer ready",
        action=acs_url,
        fields=fields,
        summary=summary,
    )
