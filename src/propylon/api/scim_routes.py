"""SCIM 2.0 HTTP binding (RFC 7644 §3): ``/scim/v2/{directory_id}/…``.

Each handler reads the wire request into plain values and calls one function of
:mod:`propylon.scim.users`, :mod:`propylon.scim.groups` or :mod:`propylon.scim.discovery`.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

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


# ---- /Users and /Groups (RFC 7644 §3.3-3.6): the same six operations on each ----


class ResourceOps(Protocol):
    """What :mod:`propylon.scim.users` and :mod:`propylon.scim.groups` both offer."""

    async def create(
        self, req: ScimRequest, body: dict[str, Any], selection: Selection
    ) -> ScimResponse: ...

    async def find(self, req: ScimRequest, params: dict[str, Any]) -> ScimResponse: ...

    async def get(
        self, req: ScimRequest, rid: str, selection: Selection, if_none_match: str | None
    ) -> ScimResponse: ...

    async def replace(
        self,
        req: ScimRequest,
        rid: str,
        body: dict[str, Any],
        if_match: str | None,
        selection: Selection,
    ) -> ScimResponse: ...

    async def patch(
        self,
        req: ScimRequest,
        rid: str,
        operations: list[dict[str, Any]],
        if_match: str | None,
        selection: Selection,
    ) -> ScimResponse: ...

    async def delete(self, req: ScimRequest, rid: str, if_match: str | None) -> ScimResponse: ...


def _resource_routes(endpoint: str, ops: ResourceOps) -> None:
    kind = endpoint.lower().rstrip("s")

    async def create(request: Request, directory_id: str) -> Response:
        body = await _body(request)
        return _render(await ops.create(_req(request, directory_id), body, _selection(request)))

    async def find(request: Request, directory_id: str) -> Response:
        params = dict(request.query_params)
        return _render(await ops.find(_req(request, directory_id), params))

    async def search(request: Request, directory_id: str) -> Response:
        params = await _search_params(request)
        return _render(await ops.find(_req(request, directory_id), params))

    async def get(request: Request, directory_id: str, rid: str) -> Response:
        inm = request.headers.get("if-none-match")
        return _render(await ops.get(_req(request, directory_id), rid, _selection(request), inm))

    async def replace(request: Request, directory_id: str, rid: str) -> Response:
        body = await _body(request)
        req, im = _req(request, directory_id), request.headers.get("if-match")
        return _render(await ops.replace(req, rid, body, im, _selection(request)))

    async def patch(request: Request, directory_id: str, rid: str) -> Response:
        operations = await _patch_ops(request)
        req, im = _req(request, directory_id), request.headers.get("if-match")
        return _render(await ops.patch(req, rid, operations, im, _selection(request)))

    async def delete(request: Request, directory_id: str, rid: str) -> Response:
        req, im = _req(request, directory_id), request.headers.get("if-match")
        return _render(await ops.delete(req, rid, im))

    one = f"/{endpoint}/{{rid}}"
    for path, handler, method in (
        (f"/{endpoint}", create, "POST"),
        (f"/{endpoint}", find, "GET"),
        (f"/{endpoint}/.search", search, "POST"),
        (one, get, "GET"),
        (one, replace, "PUT"),
        (one, patch, "PATCH"),
        (one, delete, "DELETE"),
    ):
        name = f"{handler.__name__}_{kind}"
        router.add_api_route(path, handler, methods=[method], name=name, operation_id=name)


_resource_routes("Users", users)
_resource_routes("Groups", groups)
