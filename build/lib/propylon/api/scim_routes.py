"""SCIM 2.0 HTTP binding (RFC 7644 §3): ``/scim/v2/{directory_id}/…``.

Each handler reads the wire request into plain values and calls one function of
:mod:`propylon.scim.users`, :mod:`propylon.scim.groups` or :mod:`propylon.scim.discovery`.

The routes are plain Starlette routes placed first in the app's route table: an IdP's bulk
push is the hottest traffic Propylon serves, and FastAPI's per-request dependency solving and
route scan cost about 70 µs a request that SCIM gains nothing from (SCIM describes itself at
``/Schemas`` and ``/ResourceTypes``, not in OpenAPI). They sit behind one prefix test
(:class:`ScimRoutes`), so every other request skips their patterns. Errors still go through
the app's exception handlers (:mod:`propylon.api.errors`), so a 404 or 405 here is a SCIM
error body.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Receive, Scope, Send

from propylon import ids
from propylon.api.client_address import client_key
from propylon.api.http import bearer_token, read_json_object
from propylon.cooperative import SLICE, slices
from propylon.runtime import Runtime
from propylon.scim import discovery, groups, root, users
from propylon.scim.errors import InvalidSyntax, NotFound, ScimError
from propylon.scim.listing import Selection, list_response
from propylon.scim.service import ScimRequest, ScimResponse, reject

SCIM_MEDIA_TYPE = "application/scim+json"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
T = TypeVar("T")

PREFIX = "/scim/v2/{directory_id}"
routes: list[Route] = []


Handler = Callable[[Request], Awaitable[Response]]


def _route(path: str, methods: list[str], name: str | None = None) -> Callable[[Handler], Handler]:
    """Register a handler at ``PREFIX + path``."""

    def register(handler: Handler) -> Handler:
        routes.append(Route(PREFIX + path, handler, methods=methods, name=name or handler.__name__))
        return handler

    return register


def scim_json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    content = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    return Response(content, status, headers=headers, media_type=SCIM_MEDIA_TYPE)


async def _encode(body: dict[str, Any]) -> bytes:
    """``json.dumps`` of a response body, a long list in it (a large group's ``members``, a
    page of ``Resources``) encoded in slices so that other requests run in between."""
    if not any(isinstance(v, list) and len(v) > SLICE for v in body.values()):
        return json.dumps(body, separators=(",", ":")).encode()
    parts: list[str] = []
    for key, value in body.items():
        if isinstance(value, list) and len(value) > SLICE:
            items = [json.dumps(part, separators=(",", ":"))[1:-1] async for part in slices(value)]
            encoded = "[" + ",".join(items) + "]"
        else:
            encoded = json.dumps(value, separators=(",", ":"))
        parts.append(json.dumps(key) + ":" + encoded)
    return ("{" + ",".join(parts) + "}").encode()


async def _render(result: ScimResponse) -> Response:
    if result.body is None:
        return Response(status_code=result.status, headers=result.headers)
    content = await _encode(result.body)
    return Response(content, result.status, headers=result.headers, media_type=SCIM_MEDIA_TYPE)


class ScimRoutes(BaseRoute):
    """The SCIM routes as one entry of the app's route table: a request outside
    ``/scim/v2/`` is turned away by one string test instead of a pattern per route. A match
    names the SCIM route itself as ``scope["route"]`` (metrics and access logs label by its
    path), and a path that matches with another method is a partial match (405), as with
    the routes on their own."""

    def __init__(self, routes: list[Route]) -> None:
        self.routes = routes

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path, root = scope.get("path", ""), scope.get("root_path", "")
        if root and path.startswith(root):  # served under a root path (a proxy's prefix)
            path = path[len(root) :]
        if scope["type"] != "http" or not path.startswith("/scim/v2/"):
            return Match.NONE, {}
        partial: Scope | None = None
        for route in self.routes:
            match, child = route.matches(scope)
            if match is Match.FULL:
                return match, {**child, "route": route}
            if match is Match.PARTIAL and partial is None:
                partial = {**child, "route": route}
        return (Match.PARTIAL, partial) if partial is not None else (Match.NONE, {})

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await scope["route"].handle(scope, receive, send)


def _req(request: Request) -> ScimRequest:
    """The request's plain values; a directory id no directory can have (too long for its
    column, NUL) is 404 here, before any lookup, rate limit or audit row."""
    rt: Runtime = request.app.state.runtime
    directory_id: str = request.path_params["directory_id"]
    if not ids.plausible(directory_id):
        raise NotFound("no such SCIM directory")
    address = client_key(request.scope, rt.settings)
    return ScimRequest(rt, directory_id, bearer_token(request), request.state.request_id, address)


async def _rid(request: Request, action: str) -> str:
    """The resource id of the URL; one no resource can have is refused as 404 through the
    SCIM service (authenticated and audited like the operation), without looking it up."""
    rid: str = request.path_params["rid"]
    if not ids.plausible(rid):
        await reject(_req(request), action, NotFound("no such resource"))
    return rid


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


async def _read(request: Request, action: str, reader: Callable[[Request], Awaitable[T]]) -> T:
    """Read the wire input; a body that cannot be read is refused through the SCIM service
    (authenticated, rate-limited and audited like any operation). A client that goes away
    before sending the whole body aborted its own request: a client error (400), not a
    server one."""
    try:
        return await reader(request)
    except ScimError as exc:
        await reject(_req(request), action, exc)
    except ClientDisconnect:
        aborted = InvalidSyntax("the client closed the connection before sending the whole body")
        await reject(_req(request), action, aborted)


# ---- /Users and /Groups (RFC 7644 §3.3-3.6): the same six operations on each; registered
# first, as route matching scans in order and they carry nearly all the traffic ----


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

    async def create(request: Request) -> Response:
        body = await _read(request, f"scim.{kind}.create", _body)
        return await _render(await ops.create(_req(request), body, _selection(request)))

    async def find(request: Request) -> Response:
        params = dict(request.query_params)
        return await _render(await ops.find(_req(request), params))

    async def search(request: Request) -> Response:
        params = await _read(request, f"scim.{kind}.list", _search_params)
        return await _render(await ops.find(_req(request), params))

    async def get(request: Request) -> Response:
        rid = await _rid(request, f"scim.{kind}.get")
        inm = request.headers.get("if-none-match")
        return await _render(await ops.get(_req(request), rid, _selection(request), inm))

    async def replace(request: Request) -> Response:
        rid = await _rid(request, f"scim.{kind}.replace")
        body = await _read(request, f"scim.{kind}.replace", _body)
        req, im = _req(request), request.headers.get("if-match")
        return await _render(await ops.replace(req, rid, body, im, _selection(request)))

    async def patch(request: Request) -> Response:
        rid = await _rid(request, f"scim.{kind}.patch")
        operations = await _read(request, f"scim.{kind}.patch", _patch_ops)
        req, im = _req(request), request.headers.get("if-match")
        return await _render(await ops.patch(req, rid, operations, im, _selection(request)))

    async def delete(request: Request) -> Response:
        rid = await _rid(request, f"scim.{kind}.delete")
        req, im = _req(request), request.headers.get("if-match")
        return await _render(await ops.delete(req, rid, im))

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
        _route(path, [method], f"{handler.__name__}_{kind}")(handler)


_resource_routes("Users", users)
_resource_routes("Groups", groups)


# ---- discovery (RFC 7644 §4): no tenant data, so no credential needed ----


@_route("/ServiceProviderConfig", ["GET"])
async def service_provider_config(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    base = _req(request).base_url
    return scim_json(200, discovery.service_provider_config(base, rt.settings.scim_max_results))


def _discovery(path: str, items: Callable[[str], list[dict[str, Any]]], what: str) -> None:
    """``GET path`` lists ``items``; ``GET path/{id}`` returns the one with that id, else 404."""

    async def listing(request: Request) -> Response:
        found = items(_req(request).base_url)
        return scim_json(200, list_response(len(found), 1, found))

    async def one(request: Request) -> Response:
        wanted = request.path_params["id"]
        for item in items(_req(request).base_url):
            if item["id"] == wanted:
                return scim_json(200, item)
        raise NotFound(f"no {what} {wanted!r}")

    _route(path, ["GET"], path.strip("/").lower())(listing)
    _route(path + "/{id}", ["GET"], path.strip("/").lower() + "_one")(one)


_discovery("/ResourceTypes", discovery.resource_types, "resource type")
_discovery("/Schemas", discovery.schemas, "schema")


# ---- the server root (RFC 7644 §3.4.2, §3.4.3) ----


@_route("", ["GET"])
async def list_all(request: Request) -> Response:
    params = dict(request.query_params)
    return await _render(await root.search_all(_req(request), params))


@_route("/.search", ["POST"])
async def search_all(request: Request) -> Response:
    params = await _read(request, "scim.search", _search_params)
    return await _render(await root.search_all(_req(request), params))
