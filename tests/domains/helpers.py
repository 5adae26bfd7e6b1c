"""Tenants for the routing tests: with a domain, with or without SAML and OIDC connections."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx

from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from propylon.db.tables_oidc import OidcConnection
from tests.conftest import Server
from tests.provider.helpers import App, auth_params


@dataclass
class Tenant:
    slug: str
    id: str
    domain: str


async def new_tenant(site: Server) -> Tenant:
    slug = f"r-{secrets.token_hex(4)}"
    domain = f"{slug}.example.net"
    view = await ops.create_tenant(
        site.rt, CLI, slug=slug, name=f"Org {slug}", domains=[domain], seats=None
    )
    return Tenant(slug, view.id, domain)


async def add_oidc_connection(
    site: Server, tenant_id: str, issuer: str = "https://okta.example.test"
) -> str:
    """An OIDC connection row, as the OIDC connection commands store one."""
    now = site.rt.clock()
    connection_id = f"oidc_{secrets.token_hex(8)}"
    async with site.rt.db.write() as s:
        s.add(
            OidcConnection(
                id=connection_id,
                tenant_id=tenant_id,
                name="Okta",
                issuer=issuer,
                client_id="propylon",
                client_secret=None,
                private_key_pem=None,
                auth_method="client_secret_basic",
                scopes=["openid", "email", "profile"],
                trusted_audiences=[],
                preset="okta",
                claim_map={},
                use_userinfo=False,
                jit=True,
                match_by="email",
                created_at=now,
                updated_at=now,
            )
        )
    return connection_id


async def arrive(
    site: Server, app: App, headers: dict[str, str] | None = None, **params: str
) -> httpx.Response:
    """An authorization request from a browser with no session."""
    async with httpx.AsyncClient(base_url=site.url, timeout=30, headers=headers) as browser:
        return await browser.get("/oauth2/authorize", params=auth_params(app, **params))


def location(r: httpx.Response) -> tuple[str, dict[str, str]]:
    assert r.status_code == 302, (r.status_code, r.text[:500])
    parts = urlsplit(r.headers["location"])
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    base = f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else parts.path
    return base, query
