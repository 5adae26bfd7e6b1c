"""What the SSO portal tests share: a portal browser's forms (the session's anti-forgery
token read from the page), an IdP's metadata for a key pair, a tenant's draft connection made
through the portal's own form."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from propylon.admin import oidc_connections as oidc_ops
from propylon.admin import saml_connections as saml_ops
from tests.saml.idp import KeyPair
from tests.sso.test_saml_pysaml2 import idp_metadata

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')
DRAFT_MAC = re.compile(r'name="draft_mac" value="([0-9a-f]{64})"')


def csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found, html[:2000]
    return found.group(1)


def draft_mac(html: str) -> str:
    """The proof the guide's form carries that the portal picked its draft id."""
    found = DRAFT_MAC.search(html)
    assert found, html[:2000]
    return found.group(1)


def draft_of(location: str) -> str:
    return parse_qs(urlsplit(location).query)["draft"][0]


async def guide(client: httpx.AsyncClient, protocol: str, idp: str) -> tuple[str, str]:
    """The guide page (after its redirect that picks the draft id): its html and draft id."""
    first = await client.get(f"/portal/sso/{protocol}/new", params={"idp": idp})
    assert first.status_code == 303, first.text
    draft = draft_of(first.headers["location"])
    page = await client.get(first.headers["location"])
    assert page.status_code == 200, page.text
    return page.text, draft


def metadata_for(key: KeyPair, entity_id: str, sso: str) -> bytes:
    return idp_metadata(entity_id, [key.cert], sso, sso + "/slo", signed_requests=True)


async def create_saml_draft(
    client: httpx.AsyncClient, key: KeyPair, entity_id: str, sso: str, idp: str = "okta"
) -> tuple[httpx.Response, str]:
    """Upload ``key``'s IdP metadata through the SAML guide's form; the answer and draft id."""
    html, draft = await guide(client, "saml", idp)
    files = {"metadata_file": ("idp.xml", metadata_for(key, entity_id, sso), "text/xml")}
    data = {"csrf_token": csrf(html), "draft": draft, "draft_mac": draft_mac(html), "jit": "on"}
    answer = await client.post(f"/portal/sso/saml/new?idp={idp}", data=data, files=files)
    return answer, draft


async def show(rt: Any, connection_id: str) -> dict[str, Any]:
    ops = saml_ops if connection_id.startswith("conn_") else oidc_ops
    view: dict[str, Any] = await ops.show_connection(rt, connection_id)
    return view
