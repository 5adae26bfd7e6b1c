"""A new operator's first two pages: ``/`` says what this is and what to do next; ``/docs``
documents the management API with nothing fetched from elsewhere."""

from __future__ import annotations

import re

import httpx

from tests.conftest import Server


def test_root_is_a_page_about_the_server_with_docs_and_next_command(server: Server) -> None:
    r = httpx.get(server.url + "/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "Propylon" in r.text
    assert f'href="{server.url}/docs"' in r.text
    assert "propylon api-key create" in r.text
    assert "/.well-known/openid-configuration" in r.text


def test_docs_render_every_management_operation_offline(server: Server) -> None:
    r = httpx.get(server.url + "/docs")
    assert r.status_code == 200
    # nothing is loaded from another origin: no script at all, no absolute asset URL
    assert "<script" not in r.text
    assert not re.search(r'(src|href)="https?://', r.text)
    spec = httpx.get(server.url + "/openapi.json").json()
    for path, item in spec["paths"].items():
        for method in item:
            assert f"<code>{path}</code>" in r.text.replace("&#39;", "'"), (method, path)
    assert "/api/v1/tenants" in r.text
