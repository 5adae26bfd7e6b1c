"""SCIM ``/Groups`` operations (RFC 7644 §3.3-3.6) over :mod:`propylon.directory.groups`.

Members travel as :class:`~propylon.directory.groups.MembershipChange`, never through the
group document: Okta sends them in PATCH, Entra ID also inside POST/PUT ``members``.
"""

from __future__ import annotations

from typing import Any

from propylon.cooperative import slices
from propylon.directory import groups as directory
from propylon.directory import search
from propylon.directory.groups import MembershipChange
from propylon.scim.filter import FilterLimits
from propylon.scim.listing import ListQuery, Selection
from propylon.scim.patch import apply_patch, canonicalize_group
from propylon.scim.projection import project, wants_members
from propylon.scim.resources import group_doc, group_draft, member_values, render_group
from propylon.scim.service import (
    ScimRequest,
    ScimResponse,
    Unit,
    get_one,
    list_resources,
    respond,
    run,
)
from propylon.scim.users import check_if_match


async def _member_values(members: list[directory.Member], base_url: str) -> list[dict[str, Any]]:
    """:func:`member_values` in slices: a group can have tens of thousands of members."""
    out: list[dict[str, Any]] = []
    async for part in slices(members):
        out.extend(member_values(part, base_url))
    return out


async def _render(unit: Unit, group: Any, selection: Selection) -> dict[str, Any]:
    members = None
    if wants_members(selection.attributes, selection.excluded):
        found = (await directory.members_of(unit.session, [group.id]))[group.id]
        members = await _member_values(found, unit.base_url)
    body = render_group(group, members, unit.base_url)
    return project(body, "Group", selection.attributes, selection.excluded)


def _ok(status: int, row: Any, body: dict[str, Any] | None, base: str) -> ScimResponse:
    return respond(status, row, body, f"{base}/Groups/{row.id}")


def _membership_diff(added: list[str], removed: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if added:
        out["members.added"] = {"before": None, "after": added}
    if removed:
        out["members.removed"] = {"before": removed, "after": None}
    return out


async def create(req: ScimRequest, body: dict[str, Any], selection: Selection) -> ScimResponse:
    async def op(unit: Unit) -> ScimResponse:
        doc, members = canonicalize_group(body)
        group = await directory.create_group(
            unit.session, unit.scope, group_draft(doc), members, unit.outbox, unit.now
        )
        unit.audit.target_type, unit.audit.target_id, unit.audit.status = "group", group.id, 201
        unit.audit.diff = {
            "displayName": {"before": None, "after": group.display_name},
            **_membership_diff(members or [], []),
        }
        return _ok(201, group, await _render(unit, group, selection), unit.base_url)

    return await run(req, "scim.group.create", op)


async def get(
    req: ScimRequest, group_id: str, selection: Selection, if_none_match: str | None
) -> ScimResponse:
    async def load(unit: Unit, rid: str) -> Any:
        return await directory.read_group(unit.session, unit.scope, rid)

    async def render(unit: Unit, row: Any) -> dict[str, Any]:
        return await _render(unit, row, selection)

    return await get_one(req, "Group", group_id, if_none_match, load, render)


async def query(
    unit: Unit, q: ListQuery, *, offset: int, limit: int
) -> tuple[int, list[dict[str, Any]]]:
    """One page of groups matching ``q`` (RFC 7644 §3.4.2); members only when wanted."""
    where = search.group_filter(q.filter, unit.dialect) if q.filter else None
    order = search.group_sort_key(q.sort_by, unit.dialect) if q.sort_by else None
    total, rows = await directory.list_groups(
        unit.session,
        unit.scope,
        where=where,
        order_by=order,
        descending=q.descending,
        offset=offset,
        limit=limit,
    )
    sel = q.selection
    members: dict[str, list[dict[str, Any]]] = {}
    if wants_members(sel.attributes, sel.excluded):
        found = await directory.members_of(unit.session, [g.id for g in rows])
        members = {gid: await _member_values(ms, unit.base_url) for gid, ms in found.items()}
    return total, [
        project(
            render_group(g, members.get(g.id), unit.base_url), "Group", sel.attributes, sel.excluded
        )
        for g in rows
    ]


async def find(req: ScimRequest, params: dict[str, Any]) -> ScimResponse:
    return await list_resources(req, params, "Group", query)


async def replace(
    req: ScimRequest,
    group_id: str,
    body: dict[str, Any],
    if_match: str | None,
    selection: Selection,
) -> ScimResponse:
    """PUT (§3.5.1). ``members`` absent leaves memberships as they are (Okta sends PUT
    without members to rename); present replaces them."""

    async def op(unit: Unit) -> ScimResponse:
        unit.audit.target_type, unit.audit.target_id = "group", group_id
        group = await directory.get_group(unit.session, unit.scope, group_id)
        check_if_match(if_match, group.version)
        doc, members = canonicalize_group(body)
        changes = await directory.replace_group(
            unit.session, unit.scope, group, group_draft(doc), unit.outbox, unit.now
        )
        change = MembershipChange(replace=members) if members is not None else MembershipChange()
        added, removed = await directory.change_members(
            unit.session, unit.scope, group, change, unit.outbox, unit.now
        )
        unit.audit.status = 200
        unit.audit.diff = {**changes, **_membership_diff(added, removed)}
        return _ok(200, group, await _render(unit, group, selection), unit.base_url)

    return await run(req, "scim.group.replace", op)


async def patch(
    req: ScimRequest,
    group_id: str,
    operations: list[dict[str, Any]],
    if_match: str | None,
    selection: Selection,
) -> ScimResponse:
    """PATCH (§3.5.2): 200 with the resource, as for users; a client that changes members of
    a very large group in batches can ask ``excludedAttributes=members`` to skip them."""

    async def op(unit: Unit) -> ScimResponse:
        unit.audit.target_type, unit.audit.target_id = "group", group_id
        group = await directory.get_group(unit.session, unit.scope, group_id)
        check_if_match(if_match, group.version)
        limits = FilterLimits.of(req.rt.settings)
        result = apply_patch(group_doc(group), operations, "Group", limits)
        changes = await directory.replace_group(
            unit.session, unit.scope, group, group_draft(result.doc), unit.outbox, unit.now
        )
        added: list[str] = []
        removed: list[str] = []
        if result.members is not None:
            m = result.members
            change = MembershipChange(
                add=m.add, remove=m.remove, remove_all=m.remove_all, replace=m.replace
            )
            added, removed = await directory.change_members(
                unit.session, unit.scope, group, change, unit.outbox, unit.now
            )
        unit.audit.diff = {**changes, **_membership_diff(added, removed)}
        unit.audit.status = 200
        return _ok(200, group, await _render(unit, group, selection), unit.base_url)

    return await run(req, "scim.group.patch", op)


async def delete(req: ScimRequest, group_id: str, if_match: str | None) -> ScimResponse:
    async def op(unit: Unit) -> ScimResponse:
        unit.audit.target_type, unit.audit.target_id = "group", group_id
        group = await directory.get_group(unit.session, unit.scope, group_id)
        check_if_match(if_match, group.version)
        await directory.delete_group(unit.session, unit.scope, group, unit.outbox, unit.now)
        unit.audit.status = 204
        return ScimResponse(204)

    return await run(req, "scim.group.delete", op)
