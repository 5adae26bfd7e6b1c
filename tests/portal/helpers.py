"""What the portal tests share: a tenant, a link for it, a browser (an httpx client with a
cookie jar) that redeems it the way a person does (the "Continue" page, then its form)."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from propylon.admin import portal_links
from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from tests.conftest import Server

HIDDEN = re.compile(r'name="(csrf_token|token)" value="([^"]+)"')


@dataclass
class Tenant:
    id: str
    slug: str


async def new_tenant(server: Server, domains: list[str] | None = None) -> Tenant:
    slug = f"p-{secrets.token_hex(5)}"
    view = await ops.create_tenant(
        server.rt, CLI, slug=slug, name=f"Org {slug}", domains=domains or [], seats=None
    )
    return Tenant(view.id, slug)


async def new_link(server: Server, tenant: str, intents: list[str] | None = None) -> dict[str, str]:
    made: dict[str, str] = await portal_links.create_link(
        server.rt, CLI, tenant, intents or ["all"], None, None
    )
    return made


def browser(server: Server) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url, timeout=30, follow_redirects=False)


def fields(html: str) -> dict[str, str]:
    return dict(HIDDEN.findall(html))


def csrf_of(html: str) -> str:
    return fields(html)["csrf_token"]


async def redeem(client: httpx.AsyncClient, url: str) -> httpx.Response:
    """Open the link's page and choose Continue; returns the answer to the POST."""
    parts = urlsplit(url)
    page = await client.get(f"{parts.path}?{parts.query}")
    assert page.status_code == 200, page.text
    assert "Continue" in page.text
    return await client.post("/portal/start", data=fields(page.text))


@asynccontextmanager
async def portal_browser(
    server: Server, tenant: str, intents: list[str] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """A browser holding a live portal session for ``tenant``."""
    link = await new_link(server, tenant, intents)
    async with browser(server) as client:
        answer = await redeem(client, link["url"])
        assert answer.status_code == 303 and answer.headers["location"] == "/portal", answer.text
        yield client
