"""Lifecycle the platform needs: seats, deactivation, reactivation, deprovisioning, purge,
domain events in the outbox and the audit trail."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import httpx
from sqlalchemy import select

from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from propylon.db.tables import Event, User
from tests.conftest import Server, new_directory
from tests.http.test_scim_users import PATCH, user_body


def deactivate(active: bool) -> dict[str, object]:
    return {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": active}}]}


async def test_seat_limit_refuses_then_deactivation_frees_a_seat(server: Server) -> None:
    d = await new_directory(server, seats=2)
    async with d.client() as scim:
        a = (await scim.post("/Users", json=user_body("a@seat.test"))).json()["id"]
        assert (await scim.post("/Users", json=user_body("b@seat.test"))).status_code == 201
        refused = await scim.post("/Users", json=user_body("c@seat.test"))
        assert refused.status_code == 403
        assert "seat" in refused.json()["detail"]
        # an inactive user takes no seat, so provisioning one deactivated works
        assert (
            await scim.post("/Users", json=user_body("c@seat.test", active=False))
        ).status_code == 201
        assert (await scim.patch(f"/Users/{a}", json=deactivate(False))).status_code == 200
        assert (await scim.post("/Users", json=user_body("d@seat.test"))).status_code == 201
        # reactivating now would pass the limit
        again = await scim.patch(f"/Users/{a}", json=deactivate(True))
        assert again.status_code == 403
    view = await ops.describe_tenant(server.rt, d.tenant_slug)
    assert view.seats_used == 2


async def test_reactivation_brings_back_the_same_user_with_history(server: Server) -> None:
    d = await new_directory(server)
    async with d.client() as scim:
        uid = (await scim.post("/Users", json=user_body("back@acme.test"))).json()["id"]
        await scim.patch(f"/Users/{uid}", json=deactivate(False))
        r = await scim.patch(f"/Users/{uid}", json=deactivate(True))
        assert r.status_code == 200 and r.json()["id"] == uid and r.json()["active"] is True
    async with server.rt.db.read() as s:
        types = list(
            (
                await s.scalars(
                    select(Event.type).where(Event.subject_id == uid).order_by(Event.seq)
                )
            ).all()
        )
    assert types == [
        "user.created",
        "user.sessions_revoked",  # the deactivation ends every sign-in of before, for good
        "user.deactivated",
        "user.updated",
        "user.reactivated",
        "user.updated",
    ]


async def test_events_have_gapless_per_tenant_sequence_and_failures_write_none(
    server: Server,
) -> None:
    d = await new_directory(server)
    async with d.client() as scim:
        await scim.post("/Users", json=user_body("s1@acme.test"))
        await scim.post("/Users", json=user_body("s1@acme.test"))  # 409: no event
        await scim.post("/Users", json=user_body("s2@acme.test"))
    async with server.rt.db.read() as s:
        seqs = list(
            (
                await s.scalars(
                    select(Event.seq).where(Event.tenant_id == d.tenant_id).order_by(Event.seq)
                )
            ).all()
        )
    assert seqs == [1, 2]


async def test_concurrent_multi_event_writes_keep_one_gapless_ordered_sequence(
    server: Server,
) -> None:
    """Writes racing in one tenant, some emitting several events at once (deleting a user who
    is in two groups emits four), still number the tenant's events 1..N with no gap or
    duplicate, and each unit of work's events stay contiguous and in emission order."""
    d = await new_directory(server)
    group = "urn:ietf:params:scim:schemas:core:2.0:Group"
    async with d.client() as scim:
        uid = (await scim.post("/Users", json=user_body("multi@acme.test"))).json()["id"]
        for name in ("G1", "G2"):
            body = {"schemas": [group], "displayName": name, "members": [{"value": uid}]}
            assert (await scim.post("/Groups", json=body)).status_code == 201
        racing = [scim.post("/Users", json=user_body(f"race{i}@acme.test")) for i in range(12)]
        results = await asyncio.gather(scim.delete(f"/Users/{uid}"), *racing)
        assert [r.status_code for r in results] == [204] + [201] * 12
    async with server.rt.db.read() as s:
        rows = (
            await s.execute(
                select(Event.seq, Event.type, Event.subject_id)
                .where(Event.tenant_id == d.tenant_id)
                .order_by(Event.seq)
            )
        ).all()
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    # user.created; 2 x (group.created, membership_changed); 12 x user.created; the delete's 4
    assert len(rows) == 1 + 2 * 2 + 12 + 4
    at = next(i for i, r in enumerate(rows) if r.type == "user.deleted")
    assert [r.type for r in rows[at - 3 : at + 1]] == [
        "user.sessions_revoked",
        "group.membership_changed",
        "group.membership_changed",
        "user.deleted",
    ]


async def test_department_change_is_recorded_in_the_event(server: Server) -> None:
    d = await new_directory(server)
    ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    async with d.client() as scim:
        uid = (await scim.post("/Users", json=user_body("dep@acme.test"))).json()["id"]
        op = {
            "schemas": [PATCH],
            "Operations": [{"op": "replace", "path": f"{ent}:department", "value": "Sales"}],
        }
        assert (await scim.patch(f"/Users/{uid}", json=op)).status_code == 200
    async with server.rt.db.read() as s:
        ev = await s.scalar(
            select(Event).where(Event.subject_id == uid, Event.type == "user.updated")
        )
    assert ev is not None and ev.data["department"] == {"before": "Engineering", "after": "Sales"}


async def test_delete_retains_then_purge_removes_after_retention(server: Server) -> None:
    d = await new_directory(server)
    async with d.client() as scim:
        uid = (await scim.post("/Users", json=user_body("gone@acme.test"))).json()["id"]
        assert (await scim.delete(f"/Users/{uid}")).status_code == 204
        # the userName is free again for a new hire
        assert (await scim.post("/Users", json=user_body("gone@acme.test"))).status_code == 201
    async with server.rt.db.read() as s:
        kept = await s.get(User, uid)
    assert kept is not None and kept.deleted_at is not None and kept.active is False
    dry = server.cli_json("purge", "--dry-run")
    assert uid not in {c["id"] for c in dry["purged"]}  # inside the retention period
    later = server.rt.clock() + timedelta(days=server.rt.settings.retention_days + 1)
    original = server.rt.clock
    server.rt.clock = lambda: later
    try:
        found = await ops.purge_deprovisioned(server.rt, CLI, dry_run=True)
        assert uid in {c.id for c in found}
        await ops.purge_deprovisioned(server.rt, CLI, dry_run=False)
    finally:
        server.rt.clock = original
    async with server.rt.db.read() as s:
        assert await s.get(User, uid) is None


async def test_audit_records_operations_with_diff_and_failures(server: Server) -> None:
    d = await new_directory(server)
    async with d.client() as scim:
        uid = (
            await scim.post("/Users", json=user_body("aud@acme.test", password="hunter2hunter2"))
        ).json()["id"]
        await scim.post("/Users", json=user_body("aud@acme.test"))
    rows = server.cli_json("audit", "list", d.tenant_slug)
    create = next(
        r for r in rows if r["action"] == "scim.user.create" and r["outcome"] == "success"
    )
    assert create["target_id"] == uid and create["directory_id"] == d.directory_id
    assert create["actor_type"] == "scim_token" and create["actor_id"].startswith("stok_")
    assert create["diff"]["userName"] == {"before": None, "after": "aud@acme.test"}
    assert "hunter2" not in str(rows)
    failed = next(r for r in rows if r["outcome"] == "failure")
    assert failed["status"] == 409 and "already in use" in failed["reason"]


async def test_deactivated_user_keeps_data(scim: httpx.AsyncClient) -> None:
    uid = (await scim.post("/Users", json=user_body("keep@acme.test"))).json()["id"]
    await scim.patch(f"/Users/{uid}", json=deactivate(False))
    body = (await scim.get(f"/Users/{uid}")).json()
    assert body["active"] is False and body["name"]["familyName"] == "Lovelace"


async def test_reads_are_audited_through_the_batched_writer(server: Server) -> None:
    d = await new_directory(server)
    async with d.client() as scim:
        uid = (await scim.post("/Users", json=user_body("read@acme.test"))).json()["id"]
        assert (await scim.get(f"/Users/{uid}")).status_code == 200
        listing = await scim.get("/Users", params={"filter": 'userName eq "x@y.z"'})
        assert listing.status_code == 200
    deadline = time.monotonic() + 5
    actions: set[str] = set()
    while time.monotonic() < deadline and not {"scim.user.get", "scim.user.list"} <= actions:
        await asyncio.sleep(0.1)
        rows = await ops.audit_trail(server.rt, d.tenant_slug, limit=50)
        actions = {r["action"] for r in rows if r["outcome"] == "success"}
    assert {"scim.user.get", "scim.user.list"} <= actions
    listed = next(r for r in rows if r["action"] == "scim.user.list")
    assert listed["diff"] == {"filter": 'userName eq "x@y.z"', "results": 0}
    assert listed["actor_id"].startswith("stok_") and listed["directory_id"] == d.directory_id
