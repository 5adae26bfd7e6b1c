"""SCIM 2.0 HTTP binding (RFC 7644 §3): ``/scim/v2/{directory_id}/…``.

Each handler reads the wire request into plain values and calls one function of
:mod:`propylon.scim.users`, :mod:`propylon.scim.groups` or :mod:`propylon.scim.discovery`.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from propylon.api.http import bearer_token, read_json_object
from propylon.runtime import Runtime
from propylon.scim import discovery, groups, root, users
from propylon.scim.errors import InvalidSyntax, NotFound
from propylon.scim.listing import Selection, list_response
from propylon.scim.service import ScimRequest, ScimResponse

SCIM_MEDIA_TYPE = "application/scim+json"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"

router = APIRouter(prefix="/scim/v2/{directory_id}", tags=["SCIM 2.0"])


def scim_json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    content = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    return Response(content, status, headers=headers, media_type=SCIM_MEDIA_TYPE)


def _render(result: ScimResponse) -> Response:
    if result.body is None:
        return Response(status_code=result.status, headers=result.headers)
    return scim_json(result.status, result.body, result.headers)


def _req(request: Request, directory_id: str) -> ScimRequest:
    rt: Runtime = request.app.state.runtime
    return ScimRequest(rt, directory_id, bearer_token(request), request.state.request_id)


def _selection(request: Request) -> Selection:
    q = request.query_params
    return Selection.parse(q.get("attributes"), q.get("excludedAttributes"))


async def _body(request: Request) -> dict[str, Any]:
    rt: Runtime = request.app.state.runtime
    return await read_json_object(request, rt.settings.scim_max_body_bytes)


async def _patch_ops(request: Request) -> list[dict[str, Any]]:
    body = await _body(request)
    schemas = body.get("schemas")
    if not isinstance(schemas, list) or PATCH_OP not in schemas:
        raise InvalidSyntax(f"a PATCH body must declare the schema {PATCH_OP}")
    ops = body.get("Operations", body.get("operations"))
    if not isinstance(ops, list) or not ops or not all(isinstance(o, dict) for o in ops):
        raise InvalidSyntax("Operations must be a non-empty array of operation objects")
    return ops


async def _search_params(request: Request) -> dict[str, Any]:
    body = await _body(request)
    schemas = body.get("schemas")
    if not isinstance(schemas, list) or SEARCH_REQUEST not in schemas:
        raise InvalidSyntax(f"a search body must declare the schema {SEARCH_REQUEST}")
    return {k: v for k, v in body.items() if k != "schemas"}


# ---- discovery (RFC 7644 §4): no tenant data, so no credential needed ----


@router.get("/ServiceProviderConfig")
async def service_provider_config(request: Request, directory_id: str) -> Response:
    rt: Runtime = request.app.state.runtime
    base = _req(request, directory_id).base_url
    return scim_json(200, discovery.service_provider_config(base, rt.settings.scim_max_results))


@router.get("/ResourceTypes")
async def resource_types(request: Request, directory_id: str) -> Response:
    items = discovery.resource_types(_req(request, directory_id).base_url)
    return scim_json(200, list_response(len(items), 1, items))


@router.get("/ResourceTypes/{name}")
async def resource_type(request: Request, directory_id: str, name: str) -> Response:
    for item in discovery.resource_types(_req(request, directory_id).base_url):
        if item["id"] == name:
            return scim_json(200, item)
    raise NotFound(f"no resource type {name!r}")


@router.get("/Schemas")
async def schemas(request: Request, directory_id: str) -> Response:
    items = discovery.schemas(_req(request, directory_id).base_url)
    return scim_json(200, list_response(len(items), 1, items))


@router.get("/Schemas/{urn}")
async def schema(request: Request, directory_id: str, urn: str) -> Response:
    for item in discovery.schemas(_req(request, directory_id).base_url):
        if item["id"] == urn:
            return scim_json(200, item)
    raise NotFound(f"no schema {urn!r}")


# ---- the server root (RFC 7644 §3.4.2, §3.4.3) ----


@router.get("")
async def list_all(request: Request, directory_id: str) -> Response:
    params = dict(request.query_params)
    return _render(await root.search_all(_req(request, directory_id), params))


@router.post("/.search")
async def search_all(request: Request, directory_id: str) -> Response:
    params = await _search_params(request)
    return _render(await root.search_all(_req(request, directory_id), params))


# ---- /Users ----


@router.post("/Users")
async def create_user(request: Request, directory_id: str) -> Response:
    body = await _body(request)
    return _render(await users.create(_req(request, directory_id), body, _selection(request)))


@router.get("/Users")
async def list_users(request: Request, directory_id: str) -> Response:
    params = dict(request.query_params)
    return _render(await users.search_users(_req(request, directory_id), params))


@router.post("/Users/.search")
async def search_users(request: Request, directory_id: str) -> Response:
    params = await _search_params(request)
    return _render(await users.search_users(_req(request, directory_id), params))


@router.get("/Users/{user_id}")
async def get_user(request: Request, directory_id: str, user_id: str) -> Response:
    req = _req(request, directory_id)
    inm = request.headers.get("if-none-match")
    return _render(await users.get(req, user_id, _selection(request), inm))


@router.put("/Users/{user_id}")
async def replace_user(request: Request, directory_id: str, user_id: str) -> Response:
    body = await _body(request)
    req, im = _req(request, directory_id), request.headers.get("if-match")
    return _render(await users.replace(req, user_id, body, im, _selection(request)))


@router.patch("/Users/{user_id}")
async def patch_user(request: Request, directory_id: str, user_id: str) -> Response:
    ops = await _patch_ops(request)
    req, im = _req(request, directory_id), request.headers.get("if-match")
    return _render(await users.patch(req, user_id, ops, im, _selection(request)))


@router.delete("/Users/{user_id}")
async def delete_user(request: Request, directory_id: str, user_id: str) -> Response:
    req, im = _req(request, directory_id), request.headers.get("if-match")
    return _render(await users.delete(req, user_id, im))


# ---- /Groups ----


@router.post("/Groups")
async def create_group(request: Request, directory_id: str) -> Response:
    body = await _body(request)
    return _render(await groups.create(_req(request, directory_id), body, _selection(request)))


@router.get("/Groups")
async def list_groups(request: Request, directory_id: str) -> Response:
    params = dict(request.query_params)
    return _render(await groups.search_groups(_req(request, directory_id), params))


@router.post("/Groups/.search")
async def search_groups(request: Request, directory_id: str) -> Response:
    params = await _search_params(request)
    return _render(await groups.search_groups(_req(request, directory_id), params))


@router.get("/Groups/{group_id}")
async def get_group(request: Request, directory_id: str, group_id: str) -> Response:
    req = _req(request, directory_id)
    inm = request.headers.get("if-none-match")
    return _render(await groups.get(req, group_id, _selection(request), inm))


@router.put("/Groups/{group_id}")
async def replace_group(request: Request, directory_id: str, group_id: str) -> Response:
    body = await _body(request)
    req, im = _req(request, directory_id), request.headers.get("if-match")
    return _render(await groups.replace(req, group_id, body, im, _selection(request)))


@router.patch("/Groups/{group_id}")
async def patch_group(request: Request, directory_id: str, group_id: str) -> Response:
    ops = await _patch_ops(request)
    req, im = _req(request, directory_id), request.headers.get("if-match")
    return _render(await groups.patch(req, group_id, ops, im, _selection(request)))


@router.delete("/Groups/{group_id}")
async def delete_group(request: Request, directory_id: str, group_id: str) -> Response:
    req, im = _req(request, directory_id), request.headers.get("if-match")
    return _render(await groups.delete(req, group_id, im))
