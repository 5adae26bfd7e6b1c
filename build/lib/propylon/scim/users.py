"""SCIM ``/Users`` operations (RFC 7644 §3.3-3.6) over :mod:`propylon.directory.users`."""

from __future__ import annotations

from typing import Any

from propylon.audit import diff
from propylon.directory import search
from propylon.directory import users as directory
from propylon.scim import errors
from propylon.scim.filter import FilterLimits
from propylon.scim.listing import ListQuery, Selection
from propylon.scim.patch import apply_patch, canonicalize
from propylon.scim.projection import project
from propylon.scim.resources import etag, render_user, user_doc, user_draft
from propylon.scim.service import (
    ScimRequest,
    ScimResponse,
    Unit,
    get_one,
    list_resources,
    respond,
    run,
)


def check_if_match(if_match: str | None, version: int) -> None:
    """RFC 7644 §3.14: a write with a stale ``If-Match`` fails with 412."""
    if (
        if_match
        and if_match.strip() != "*"
        and etag(version) not in {t.strip() for t in if_match.split(",")}
    ):
        raise errors.PreconditionFailed("resource version does not match If-Match")


def _render(
    user: Any, groups: list[tuple[str, str]], base_url: str, selection: Selection
) -> dict[str, Any]:
    body = render_user(user, groups, base_url)
    return project(body, "User", selection.attributes, selection.excluded)


def _render_row(row: Any, base_url: str, selection: Selection) -> dict[str, Any]:
    """Render a read row, which carries its groups."""
    return _render(row, directory.memberships(row), base_url, selection)


def _ok(status: int, row: Any, body: dict[str, Any] | None, base: str) -> ScimResponse:
    return respond(status, row, body, f"{base}/Users/{row.id}")


async def create(req: ScimRequest, body: dict[str, Any], selection: Selection) -> ScimResponse:
    async def op(unit: Unit) -> ScimResponse:
        draft = user_draft(canonicalize(body, "User"))
        user = await directory.create_user(unit.session, unit.scope, draft, unit.outbox, unit.now)
        unit.audit.target_type, unit.audit.target_id, unit.audit.status = "user", user.id, 201
        unit.audit.diff = diff(None, user_doc(user))
        rendered = _render(user, [], unit.base_url, selection)  # a new user is in no group yet
        return _ok(201, user, rendered, unit.base_url)

    return await run(req, "scim.user.create", op)


async def get(
    req: ScimRequest, user_id: str, selection: Selection, if_none_match: str | None
) -> ScimResponse:
    async def load(unit: Unit, rid: str) -> Any:
        return await directory.read_user(unit.session, unit.scope, rid)

    async def render(unit: Unit, row: Any) -> dict[str, Any]:
        return _render_row(row, unit.base_url, selection)

    return await get_one(req, "User", user_id, if_none_match, load, render)


async def query(
    unit: Unit, q: ListQuery, *, offset: int, limit: int
) -> tuple[int, list[dict[str, Any]]]:
    """One page of users matching ``q`` (RFC 7644 §3.4.2), rendered and projected."""
    where = search.user_filter(q.filter, unit.dialect) if q.filter else None
    order = search.user_sort_key(q.sort_by, unit.dialect) if q.sort_by else None
    total, rows = await directory.list_users(
        unit.session,
        unit.scope,
        where=where,
        order_by=order,
        descending=q.descending,
        offset=offset,
        limit=limit,
    )
    return total, [_render_row(u, unit.base_url, q.selection) for u in rows]


async def find(req: ScimRequest, params: dict[str, Any]) -> ScimResponse:
    return await list_resources(req, params, "User", query)


async def _write(
    req: ScimRequest,
    action: str,
    user_id: str,
    if_match: str | None,
    selection: Selection,
    new_doc: Any,
) -> ScimResponse:
    async def op(unit: Unit) -> ScimResponse:
        unit.audit.target_type, unit.audit.target_id = "user", user_id
        user, groups = await directory.get_user_and_groups(unit.session, unit.scope, user_id)
        check_if_match(if_match, user.version)
        draft = user_draft(new_doc(user_doc(user)))
        changes = await directory.replace_user(
            unit.session, unit.scope, user, draft, unit.outbox, unit.now
        )
        unit.audit.status, unit.audit.diff = 200, changes
        return _ok(200, user, _render(user, groups, unit.base_url, selection), unit.base_url)

    return await run(req, action, op)


async def replace(
    req: ScimRequest,
    user_id: str,
    body: dict[str, Any],
    if_match: str | None,
    selection: Selection,
) -> ScimResponse:
    """PUT (§3.5.1): the body replaces every attribute the client may write."""
    return await _write(
        req,
        "scim.user.replace",
        user_id,
        if_match,
        selection,
        lambda _old: canonicalize(body, "User"),
    )


async def patch(
    req: ScimRequest,
    user_id: str,
    operations: list[dict[str, Any]],
    if_match: str | None,
    selection: Selection,
) -> ScimResponse:
    """PATCH (§3.5.2)."""
    limits = FilterLimits.of(req.rt.settings)
    return await _write(
        req,
        "scim.user.patch",
        user_id,
        if_match,
        selection,
        lambda old: _patched(old, operations, limits),
    )


def _patched(
    old: dict[str, Any], operations: list[dict[str, Any]], limits: FilterLimits
) -> dict[str, Any]:
    """RFC 7644 §3.5.2.2: an attribute a PATCH removes is unassigned afterwards. ``active``
    is absent from a POST/PUT body when the client leaves the default to the server, so its
    removal is marked explicitly (RFC 7643 §2.5: null is unassigned)."""
    doc = apply_patch(old, operations, "User", limits).doc
    if "active" not in doc:
        doc["active"] = None
    return doc


async def delete(req: ScimRequest, user_id: str, if_match: str | None) -> ScimResponse:
    async def op(unit: Unit) -> ScimResponse:
        unit.audit.target_type, unit.audit.target_id = "user", user_id
        user = await directory.get_user(unit.session, unit.scope, user_id)
        check_if_match(if_match, user.version)
        await directory.delete_user(unit.session, unit.scope, user, unit.outbox, unit.now)
        unit.audit.status, unit.audit.diff = 204, {"deprovisioned": {"before": None, "after": True}}
        return ScimResponse(204)

    return await run(req, "scim.user.delete", op)
