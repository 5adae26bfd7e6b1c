"""Entitlements follow the directory: SCIM membership and attribute changes, group renames
and deletions, and rule edits recompute them, each change versioned and evented, on both
backends; a dry run shows the change before it is saved."""

from __future__ import annotations

from typing import Any

import httpx

from propylon.entitlements.model import EVENT_TYPE
from tests.conftest import Server, new_directory
from tests.entitlements.helpers import ENTERPRISE, clinical_rules, events_of, suffix
from tests.http.test_scim_users import user_body

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def patch(*ops: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": list(ops)}


async def current(api: httpx.AsyncClient, slug: str, user_id: str) -> dict[str, Any]:
    r = await api.get(f"/api/v1/tenants/{slug}/users/{user_id}/entitlements")
    assert r.status_code == 200, r.text
    ent: dict[str, Any] = r.json()["entitlements"]
    return ent


async def test_scim_changes_and_rule_edits_recompute_entitlements_with_versions_and_events(
    server: Server,
) -> None:
    s = suffix()
    d = await new_directory(server)
    rules = await clinical_rules(server, s)
    async with server.api() as api, d.client() as scim:
        r = await scim.post("/Users", json=user_body(f"ada-{s}@acme.test"))
        uid = r.json()["id"]
        # no rules yet: nothing computed, version 0
        assert await current(api, d.tenant_slug, uid) == {
            "version": 0,
            "roles": [],
            "tier": None,
            "programs": [],
        }
        r = await api.put(f"/api/v1/tenants/{d.tenant_slug}/entitlement-rules", json=rules)
        assert r.status_code == 200, r.text
        assert r.json()["version"] == 1 and r.json()["users_changed"] == 1
        assert await current(api, d.tenant_slug, uid) == {
            "version": 1,
            "roles": [f"viewer-{s}"],
            "tier": f"basic-{s}",
            "programs": [],
        }
        # a user created through SCIM after the rules gets the defaults at once
        r = await scim.post("/Users", json=user_body(f"bob-{s}@acme.test"))
        assert r.status_code == 201, r.text
        bob = r.json()["id"]
        assert (await current(api, d.tenant_slug, bob))["tier"] == f"basic-{s}"
        # membership: joining the group grants the role and the program
        r = await scim.post(
            "/Groups",
            json={"schemas": [GROUP], "displayName": f"Nurses-{s}", "members": [{"value": uid}]},
        )
        assert r.status_code == 201, r.text
        gid = r.json()["id"]
        got = await current(api, d.tenant_slug, uid)
        assert got["roles"] == sorted([f"clinician-{s}", f"viewer-{s}"])
        assert got["programs"] == [f"p-{s}"] and got["version"] == 2
        # attribute: the department change re-evaluates the department rule
        dept = {"op": "replace", "path": f"{ENTERPRISE}:department", "value": "Clinical"}
        r = await scim.patch(f"/Users/{uid}", json=patch(dept))
        assert r.status_code == 200, r.text
        got = await current(api, d.tenant_slug, uid)
        assert got["tier"] == f"pro-{s}" and got["version"] == 3
        # rename: the group no longer matches
        rename = {"op": "replace", "path": "displayName", "value": f"Surgeons-{s}"}
        r = await scim.patch(f"/Groups/{gid}", json=patch(rename))
        assert r.status_code in (200, 204), r.text
        got = await current(api, d.tenant_slug, uid)
        assert got["roles"] == [f"viewer-{s}"] and got["programs"] == [] and got["version"] == 4
        # back, then deleted: the membership goes with the group
        back = {"op": "replace", "path": "displayName", "value": f"Nurses-{s}"}
        await scim.patch(f"/Groups/{gid}", json=patch(back))
        assert (await current(api, d.tenant_slug, uid))["version"] == 5
        assert (await scim.delete(f"/Groups/{gid}")).status_code == 204
        got = await current(api, d.tenant_slug, uid)
        assert got["roles"] == [f"viewer-{s}"] and got["version"] == 6
        # a write that changes no input of the outcome changes nothing
        title = {"op": "replace", "path": "title", "value": "Charge nurse"}
        await scim.patch(f"/Users/{uid}", json=patch(title))
        assert (await current(api, d.tenant_slug, uid))["version"] == 6
        versions = await api.get(f"/api/v1/tenants/{d.tenant_slug}/entitlement-rules/versions")
        assert [v["version"] for v in versions.json()] == [1]

    events = [e for e in await events_of(server, d.tenant_id, EVENT_TYPE) if e.subject_id == uid]
    assert [e.data["entitlements"]["version"] for e in events] == [1, 2, 3, 4, 5, 6]
    first, third = events[0].data, events[2].data
    assert first["previous"]["version"] == 0 and first["user"]["id"] == uid
    assert third["previous"]["tier"] == f"basic-{s}"
    assert third["entitlements"]["tier"] == f"pro-{s}"
    assert third["user"]["department"] == "Clinical"


async def test_dry_run_shows_whose_entitlements_change_and_saves_nothing(server: Server) -> None:
    s = suffix()
    d = await new_directory(server)
    rules = await clinical_rules(server, s)
    async with server.api() as api, d.client() as scim:
        ids = []
        for name in ("ann", "ben"):
            r = await scim.post("/Users", json=user_body(f"{name}-{s}@acme.test"))
            ids.append(r.json()["id"])
        dept = {"op": "replace", "path": f"{ENTERPRISE}:department", "value": "Clinical"}
        await scim.patch(f"/Users/{ids[0]}", json=patch(dept))
        base = f"/api/v1/tenants/{d.tenant_slug}/entitlement-rules"
        r = await api.post(f"{base}/dry-run", json=rules)
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["dry_run"] is True and out["evaluated"] == 2 and out["changed"] == 2
        ann = next(c for c in out["changes"] if c["user_id"] == ids[0])
        assert ann["added"] == {"roles": [f"viewer-{s}"], "programs": []}
        assert ann["tier"] == {"before": None, "after": f"pro-{s}"}
        assert (await api.get(base)).json()["version"] == 0
        assert await events_of(server, d.tenant_id, EVENT_TYPE) == []
        # saved, then a change that removes the default role: the dry run says so
        await api.put(base, json=rules)
        smaller = {**rules, "defaults": {"tier": f"basic-{s}"}}
        out = (await api.post(f"{base}/dry-run", json=smaller)).json()
        assert out["changed"] == 2
        assert all(c["removed"]["roles"] == [f"viewer-{s}"] for c in out["changes"])
        # undeclared names are refused, whether dry run or save
        ghost = {"rules": [{"name": "g", "grant": {"roles": [f"ghost-{s}"]}}]}
        for r in (await api.post(f"{base}/dry-run", json=ghost), await api.put(base, json=ghost)):
            assert r.status_code == 400 and "catalogue" in r.text


async def test_a_rule_save_over_thousands_of_users_recomputes_them_all(server: Server) -> None:
    """A rule save recomputes the whole tenant in its transaction; with 3,000 users its
    events and rows are far more bind parameters than one PostgreSQL statement takes
    (32,767), so the outbox is flushed in chunks: every user gets the defaults, one event each."""
    from datetime import UTC, datetime

    from sqlalchemy import func, insert, select

    from propylon.admin import entitlements as ops
    from propylon.admin.audited import CLI
    from propylon.db.tables import Event, User
    from propylon.db.tables_entitlements import UserEntitlements
    from propylon.ids import Kind, new_id

    s = suffix()
    d = await new_directory(server)
    rules = await clinical_rules(server, s)
    now = datetime.now(UTC)
    rows = [
        {
            "id": new_id(Kind.USER),
            "tenant_id": d.tenant_id,
            "user_name": f"u{i}@bulk.test",
            "user_name_ci": f"u{i}@bulk.test",
            "doc": {"userName": f"u{i}@bulk.test"},
            "active": True,
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(3000)
    ]
    async with server.rt.db.write() as db:
        await db.execute(insert(User), rows)
    out = await ops.rules_set(server.rt, CLI, d.tenant_slug, rules)
    assert out["users_changed"] == 3000
    async with server.rt.db.read() as db:
        stored = await db.scalar(
            select(func.count())
            .select_from(UserEntitlements)
            .where(UserEntitlements.tenant_id == d.tenant_id, UserEntitlements.version == 1)
        )
        evented = await db.scalar(
            select(func.count())
            .select_from(Event)
            .where(Event.tenant_id == d.tenant_id, Event.type == EVENT_TYPE)
        )
    assert stored == 3000 and evented == 3000
