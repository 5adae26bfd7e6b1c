"""Helpers for replaying IdP request sequences: bodies sent as the IdPs send them."""

from __future__ import annotations

import json
from typing import Any

import httpx

SCIM_JSON = "application/scim+json"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


async def send(
    scim: httpx.AsyncClient,
    method: str,
    url: str,
    body: dict[str, Any] | None = None,
    params: dict[str, str] | None = None,
) -> httpx.Response:
    """One request with ``Content-Type: application/scim+json`` (both IdPs send that)."""
    headers = {"Accept": SCIM_JSON}
    content = None
    if body is not None:
        headers["Content-Type"] = f"{SCIM_JSON}; charset=utf-8"
        content = json.dumps(body).encode()
    return await scim.request(method, url, content=content, params=params, headers=headers)


def patch_op(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def assert_scim(r: httpx.Response, status: int) -> dict[str, Any]:
    """The status the IdP expects, and a SCIM JSON body."""
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    assert r.headers["content-type"].startswith(SCIM_JSON), r.headers["content-type"]
    body = r.json()
    assert isinstance(body, dict)
    return body


def assert_list(r: httpx.Response, total: int) -> list[dict[str, Any]]:
    body = assert_scim(r, 200)
    assert body["schemas"] == [LIST]
    assert body["totalResults"] == total, body
    assert body["startIndex"] == 1
    resources = body.get("Resources", [])
    assert len(resources) == total and body["itemsPerPage"] == total, body
    return list(resources)
