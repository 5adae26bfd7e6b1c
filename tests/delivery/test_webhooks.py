"""Webhooks end to end: SCIM changes at a running server become sequenced events, then
signed deliveries to a loopback receiver (Standard Webhooks, verified with the reference
package), retried after failures, in order per tenant, dead-lettered and replayed."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select
from standardwebhooks import Webhook

from propylon.db.tables_delivery import WebhookEndpoint
from tests.conftest import new_directory
from tests.delivery.conftest import Hooks, user_body
from tests.delivery.receiver import Received, Receiver


def first_receipts(received: list[Received]) -> list[Received]:
    """Each message once (at-least-once delivery may repeat one), in arrival order."""
    seen: set[str] = set()
    out = []
    for r in received:
        if r.headers["webhook-id"] not in seen:
            seen.add(r.headers["webhook-id"])
            out.append(r)
    return out


async def create_users(hooks: Hooks, n: int) -> tuple[str, list[str]]:
    d = await new_directory(hooks.server)
    ids = []
    async with d.client() as scim:
        for i in range(n):
            r = await scim.post("/Users", json=user_body(f"u{i}@{d.tenant_slug}.test"))
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
    return d.tenant_id, ids


async def endpoint(hooks: Hooks, url: str, **fields: Any) -> dict[str, Any]:
    r = await hooks.api.post("/api/v1/webhooks", json={"url": url, **fields})
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_events_arrive_signed_per_standard_webhooks_and_both_secrets_sign_during_rotation(
    hooks: Hooks,
) -> None:
    d = await new_directory(hooks.server)
    rx = Receiver().start()
    try:
        ep = await endpoint(hooks, rx.url + "/in", tenant_id=d.tenant_id, event_types=["user.*"])
        assert ep["secret"].startswith("whsec_")
        async with d.client() as scim:
            r = await scim.post("/Users", json=user_body(f"a@{d.tenant_slug}.test"))
            user_id = r.json()["id"]
            await rx.wait_for(lambda: len(rx.delivered()) >= 1)
            got = rx.delivered()[0]
            body = Webhook(ep["secret"]).verify(got.body, got.headers)
            assert body["type"] == "user.created"
            assert body["tenant_id"] == d.tenant_id
            assert body["subject"] == {"type": "user", "id": user_id}
            assert got.headers["webhook-id"] == body["id"]
            assert len(got.headers["webhook-signature"].split()) == 1

            r = await hooks.api.post(
                f"/api/v1/webhooks/{ep['id']}/rotate-secret", json={"grace_seconds": 3600}
            )
            rotated = r.json()
            assert rotated["secret"] != ep["secret"] and rotated["previous_secret_expires_at"]
            await scim.patch(
                f"/Users/{user_id}",
                json={
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "replace", "path": "title", "value": "Dr"}],
                },
            )
        await rx.wait_for(lambda: len(rx.delivered()) >= 2)
        second = rx.delivered()[1]
        assert len(second.headers["webhook-signature"].split()) == 2
        for secret in (rotated["secret"], ep["secret"]):
            assert Webhook(secret).verify(second.body, second.headers)["type"] == "user.updated"
        async with hooks.server.rt.db.read() as s:
            row = (
                await s.scalars(select(WebhookEndpoint).where(WebhookEndpoint.id == ep["id"]))
            ).one()
        assert row.secret.startswith("sb1.") and rotated["secret"] not in row.secret
        assert "secret" not in (await hooks.api.get(f"/api/v1/webhooks/{ep['id']}")).json()
    finally:
        rx.stop()


async def test_a_failing_receiver_is_retried_a_tenants_next_event_waits_and_others_do_not(
    hooks: Hooks,
) -> None:
    """Tenant A's receiver fails until tenant B's events are in: B is not held behind A, A's
    events arrive in order, and no A event is attempted before the one before it arrived."""
    rx = Receiver()
    tenants: dict[str, str] = {}

    def answer(_path: str, envelope: dict[str, Any]) -> int:
        if envelope.get("tenant_id") == tenants.get("a"):
            done_b = [r for r in rx.delivered() if r.json["tenant_id"] == tenants.get("b")]
            return 204 if len(done_b) >= 2 else 503
        return 204

    rx.answer = answer
    rx.start()
    try:
        ep = await endpoint(hooks, rx.url + "/all", event_types=["user.created"])
        tenants["a"], a_users = await create_users(hooks, 3)
        tenants["b"], _ = await create_users(hooks, 2)

        def of(tenant: str) -> list[Received]:
            return [r for r in first_receipts(rx.delivered()) if r.json["tenant_id"] == tenant]

        await rx.wait_for(lambda: len(of(tenants["a"])) == 3 and len(of(tenants["b"])) == 2)
        a = of(tenants["a"])
        assert [r.json["subject"]["id"] for r in a] == a_users
        seqs = [r.json["tenant_seq"] for r in a]
        assert seqs == sorted(seqs)
        # head of line: every request for A, failed ones included, in tenant order
        tried = [r.json["tenant_seq"] for r in rx.received if r.json["tenant_id"] == tenants["a"]]
        assert tried == sorted(tried)
        assert any(r.status == 503 for r in rx.received)
        # the delivery log shows the failed attempts before the success
        r = await hooks.api.get(
            "/api/v1/deliveries", params={"destination": ep["id"], "tenant": tenants["a"]}
        )
        first = r.json()["data"][0]
        assert first["state"] == "delivered" and first["attempts"] >= 2
        log = (await hooks.api.get(f"/api/v1/deliveries/{first['id']}")).json()["log"]
        assert [e["outcome"] for e in log][-1] == "delivered"
        assert {e["outcome"] for e in log[:-1]} == {"retry"}
        assert log[0]["status"] == 503
    finally:
        rx.stop()
        await hooks.api.delete(f"/api/v1/webhooks/{ep['id']}")


async def test_a_delivery_past_its_retry_period_is_dead_lettered_unblocks_its_key_and_replays(
    hooks: Hooks,
) -> None:
    """With a 2 s retry period: the first event is dead, the second then goes out, and the
    dead one replayed arrives."""
    failing = {"on": True}
    rx = Receiver(answer=lambda _p, _e: 500 if failing["on"] else 204).start()
    d = await new_directory(hooks.server)
    try:
        ep = await endpoint(hooks, rx.url + "/dead", tenant_id=d.tenant_id)
        async with d.client() as scim:
            r = await scim.post("/Users", json=user_body(f"x@{d.tenant_slug}.test"))
            assert r.status_code == 201

        async def dead() -> list[dict[str, Any]]:
            params = {"state": "dead", "destination": ep["id"]}
            return list((await hooks.api.get("/api/v1/deliveries", params=params)).json()["data"])

        for _ in range(200):  # the 2 s retry period, then the dead letter
            if await dead():
                break
            await asyncio.sleep(0.05)
        [item] = await dead()
        assert item["attempts"] >= 3 and item["last_status"] == 500
        failing["on"] = False
        async with d.client() as scim:
            r = await scim.post("/Users", json=user_body(f"y@{d.tenant_slug}.test"))
            later_user = r.json()["id"]
        await rx.wait_for(lambda: len(rx.delivered()) >= 1)
        assert rx.delivered()[0].json["subject"]["id"] == later_user
        r = await hooks.api.post("/api/v1/deliveries/replay", json={"ids": [item["id"]]})
        assert r.json()["replayed"] == [item["id"]]
        await rx.wait_for(lambda: len(rx.delivered()) >= 2)
        assert rx.delivered()[1].json["id"] == item["event_id"]
        assert await dead() == []
    finally:
        rx.stop()


async def test_cli_creates_an_endpoint_showing_its_secret_once_rotates_and_lists_dead_letters(
    hooks: Hooks,
) -> None:
    d = await new_directory(hooks.server)
    cli = hooks.server.cli_json
    made = cli(
        "webhooks", "create", "http://127.0.0.1:9/x", "--tenant", d.tenant_id, "--type", "user.*"
    )
    assert made["secret"].startswith("whsec_") and made["event_types"] == ["user.*"]
    assert made["tenant_id"] == d.tenant_id
    rotated = cli("webhooks", "rotate-secret", made["id"], "--grace-seconds", "60")
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != made["secret"]
    listed = (await hooks.api.get("/api/v1/webhooks")).json()["data"]
    assert next(e for e in listed if e["id"] == made["id"])["previous_secret_expires_at"]
    if hooks.server.name == "sqlite":  # the CLI is one shell over both backends: pin it once
        assert cli("deliveries", "list", "--state", "dead", "--destination", made["id"]) == {
            "data": [],
            "next_after": 0,
        }
        assert cli("webhooks", "delete", made["id"]) == {"id": made["id"], "deleted": True}
    else:
        assert (await hooks.api.delete(f"/api/v1/webhooks/{made['id']}")).status_code == 200
    r = await hooks.api.get(f"/api/v1/webhooks/{made['id']}")
    assert r.status_code == 404
