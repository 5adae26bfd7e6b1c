"""Group membership edits at thousands of members (issue 12 item 11), on both backends: exact
results (RFC 7644 §3.5.2 add/remove/replace on ``members``), work that grows linearly with
the members named (SQL statements and id hashing/comparisons counted, never timed), and a
member lookup that finds each id through the primary key rather than walking the directory.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import event, insert, select, text

from propylon.db.tables import Event, User, core
from propylon.directory import member_sql
from propylon.ids import Kind, new_id
from propylon.scim import groups as scim_groups
from propylon.scim.listing import Selection
from propylon.scim.service import ScimRequest
from tests.conftest import Directory, Server, new_directory

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


async def _seed_users(server: Server, d: Directory, n: int) -> list[str]:
    """``n`` users of the directory written straight into ``users`` through the test's own
    runtime: thousands of SCIM POSTs would be most of the test's time."""
    now = datetime.now(UTC)
    rows = []
    for i in range(n):
        name = f"m{i}-{new_id(Kind.USER)}@scale.test"
        rows.append(
            {
                "id": new_id(Kind.USER),
                "tenant_id": d.tenant_id,
                "directory_id": d.directory_id,
                "user_name": name,
                "user_name_ci": name,
                "active": True,
                "doc": {
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": name,
                },
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
    async with server.rt.db.write() as s:
        await s.execute(insert(core(User)), rows)
    return [r["id"] for r in rows]


def _values(ids: list[str]) -> list[dict[str, str]]:
    return [{"value": i} for i in ids]


def _members_op(op: str, ids: list[str]) -> dict[str, Any]:
    return {"op": op, "path": "members", "value": _values(ids)}


async def _members(scim: httpx.AsyncClient, gid: str) -> list[str]:
    r = await scim.get(f"/Groups/{gid}")
    assert r.status_code == 200, r.text
    return [m["value"] for m in r.json().get("members", [])]


async def _patch(scim: httpx.AsyncClient, gid: str, *ops: dict[str, Any]) -> dict[str, Any]:
    r = await scim.patch(f"/Groups/{gid}", json={"schemas": [PATCH], "Operations": list(ops)})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _last_membership_event(server: Server, gid: str) -> dict[str, Any]:
    async with server.rt.db.read() as s:
        data = await s.scalar(
            select(Event.data)
            .where(Event.subject_id == gid, Event.type == "group.membership_changed")
            .order_by(Event.seq.desc())
            .limit(1)
        )
    assert isinstance(data, dict)
    return data


async def test_large_member_edits_keep_exact_membership(
    server: Server, directory: Directory, scim: httpx.AsyncClient
) -> None:
    users = await _seed_users(server, directory, 2500)
    other = await new_directory(server)
    stranger = (await _seed_users(server, other, 1))[0]

    # POST with members: duplicates, an unknown id and another directory's user are left out
    members = [*users[:1000], users[0], "no-such-id", stranger]
    r = await scim.post(
        "/Groups", json={"schemas": [GROUP], "displayName": "Big", "members": _values(members)}
    )
    assert r.status_code == 201, r.text
    gid = r.json()["id"]
    assert sorted(m["value"] for m in r.json()["members"]) == sorted(users[:1000])

    # add all of them (a thousand already members, one named twice): each member once
    body = await _patch(scim, gid, _members_op("add", [*users, users[5]]))
    assert sorted(m["value"] for m in body["members"]) == sorted(users)
    assert len(await _members(scim, gid)) == 2500
    version = body["meta"]["version"]

    # remove every member and add them all again, in one PATCH: nothing changes
    body = await _patch(scim, gid, {"op": "remove", "path": "members"}, _members_op("add", users))
    assert sorted(await _members(scim, gid)) == sorted(users)
    assert body["meta"]["version"] == version

    # remove 1,500 and re-add 200 of them in the same PATCH: those 200 stay members
    await _patch(
        scim, gid, _members_op("remove", users[:1500]), _members_op("add", users[1000:1200])
    )
    assert sorted(await _members(scim, gid)) == sorted(users[1000:1200] + users[1500:])
    event_data = await _last_membership_event(server, gid)
    assert event_data["added"] == []
    assert event_data["removed"] == sorted(users[:1000] + users[1200:1500])

    # PUT with members replaces them
    wanted = users[2000:] + users[:100]
    r = await scim.put(
        f"/Groups/{gid}",
        json={"schemas": [GROUP], "displayName": "Big", "members": _values(wanted)},
    )
    assert r.status_code == 200, r.text
    assert sorted(await _members(scim, gid)) == sorted(wanted)

    # PATCH replace, then remove by value down to nothing
    await _patch(scim, gid, _members_op("replace", users[:2200]))
    assert sorted(await _members(scim, gid)) == sorted(users[:2200])
    event_data = await _last_membership_event(server, gid)
    assert event_data["added"] == users[100:2000]  # in the order given
    assert event_data["removed"] == sorted(users[2200:])
    body = await _patch(scim, gid, _members_op("remove", users[:2200]))
    assert "members" not in body and await _members(scim, gid) == []


class _Counted(str):
    """A member id that counts how often it is hashed or compared: a list scan (``in`` on a
    list) compares it with every element, a set or dict lookup hashes it once."""

    calls = 0

    def __hash__(self) -> int:
        _Counted.calls += 1
        return str.__hash__(self)

    def __eq__(self, other: object) -> bool:
        _Counted.calls += 1
        return str.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)


@contextmanager
def _statements(server: Server) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    engine = server.rt.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def _edit_cost(server: Server, n: int) -> tuple[int, int]:
    """(SQL statements, id hashes and comparisons) of one PATCH on a group of ``n`` members
    that removes half of them and adds as many others, run in-process on the real stack."""
    d = await new_directory(server)
    users = await _seed_users(server, d, 2 * n)
    req = ScimRequest(server.rt, d.directory_id, d.token)
    body = {"schemas": [GROUP], "displayName": f"g{n}", "members": _values(users[:n])}
    gid = (await scim_groups.create(req, body, Selection())).body["id"]  # type: ignore[index]
    counted = [_Counted(i) for i in users]
    ops = [
        {"op": "remove", "path": "members", "value": _values(counted[: n // 2])},
        {"op": "add", "path": "members", "value": _values(counted[n:])},
        {"op": "add", "path": "members", "value": _values(counted[n + n // 2 :])},
    ]
    _Counted.calls = 0
    with _statements(server) as seen:
        result = await scim_groups.patch(req, gid, ops, None, Selection())
    assert result.status == 200
    assert len(result.body["members"]) == n + n // 2  # type: ignore[index]
    return len(seen), _Counted.calls


async def test_member_edit_work_grows_linearly_with_its_members(server: Server) -> None:
    small_statements, small_calls = await _edit_cost(server, 200)
    big_statements, big_calls = await _edit_cost(server, 2000)
    # ten times the members: one more lookup and one more insert per 1,000 ids at most,
    # and about ten times the hashing (a quadratic edit does about a hundred times)
    per_chunk = 2 * (2000 // member_sql.CHUNK)
    assert big_statements <= small_statements + per_chunk, (small_statements, big_statements)
    assert big_calls <= 15 * small_calls, (small_calls, big_calls)


def _index_names(plan: Any) -> Iterator[tuple[str, str]]:
    """(node type, index or relation) of every scan in a PostgreSQL JSON plan."""
    if isinstance(plan, dict):
        if "Index Name" in plan or plan.get("Node Type") == "Seq Scan":
            yield plan["Node Type"], plan.get("Index Name") or plan.get("Relation Name", "")
        for value in plan.values():
            yield from _index_names(value)
    elif isinstance(plan, list):
        for item in plan:
            yield from _index_names(item)


async def _explain(server: Server, stmt: Any, params: dict[str, Any]) -> list[Any]:
    """The plan of ``stmt`` (PostgreSQL: JSON, sequential scans off; SQLite: EXPLAIN QUERY
    PLAN rows), through the runtime's engine with the statement exactly as it runs."""
    dialect = server.rt.db.engine.dialect.name
    prefix = "EXPLAIN (FORMAT JSON) " if dialect == "postgresql" else "EXPLAIN QUERY PLAN "

    def explain(conn: Any, cursor: Any, statement: str, params: Any, *args: Any) -> Any:
        return prefix + statement, params

    engine = server.rt.db.engine.sync_engine
    async with server.rt.db.write() as s:
        conn = await s.connection()
        if dialect == "postgresql":
            await conn.execute(text("SET LOCAL enable_seqscan = off"))
        event.listen(engine, "before_cursor_execute", explain, retval=True)
        try:
            return list((await conn.execute(stmt, params)).all())
        finally:
            event.remove(engine, "before_cursor_execute", explain)


async def test_member_lookup_finds_each_id_through_the_primary_key(server: Server) -> None:
    """Whatever the planner knows of the tables (nothing right after a first push), the
    lookup cannot walk the directory's listing index: with sequential scans off, every scan
    is a primary-key scan. (A plain ``id IN (…) AND directory_id = …`` walks
    ``ix_users_live_listing``, reading the whole directory for every chunk.) On SQLite the
    delete finds each membership in the primary key too, in a page cache that holds them."""
    d = await new_directory(server)
    users = await _seed_users(server, d, 50)
    dialect = server.rt.db.engine.dialect.name
    statements = member_sql.STATEMENTS[dialect]
    params = {"ids": users[:10], "tenant": d.tenant_id, "directory": d.directory_id}
    rows = await _explain(server, statements.lookup, params)
    if dialect == "postgresql":
        plan = rows[0][0]
        scans = set(_index_names(json.loads(plan) if isinstance(plan, str) else plan))
        assert scans and {name for _, name in scans} <= {"pk_users", "pk_groups"}, scans
        return
    details = [row[-1] for row in rows if " users" in row[-1] or " groups" in row[-1]]
    assert details, rows
    for detail in details:
        assert "USING INDEX sqlite_autoindex" in detail and "(id=?)" in detail, details
    rows = await _explain(server, statements.delete, {"group": "g", "ids": users[:10]})
    details = [r[-1] for r in rows if "group_members" in r[-1]]
    assert len(details) == 1 and details[0].startswith("SEARCH group_members USING"), rows
    assert "sqlite_autoindex_group_members_1 (group_id=? AND member_id=?)" in details[0], rows
    # and the page cache holds a large group's membership b-trees (the 2 MiB default spilled
    # them mid-transaction, making a 20,000-member edit superlinear)
    async with server.rt.db.read() as s:
        cache = await s.scalar(text("PRAGMA cache_size"))
    assert cache is not None and (cache <= -16_384 or cache * 4096 >= 16 << 20), cache
