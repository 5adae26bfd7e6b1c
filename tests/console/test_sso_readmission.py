"""A console session opened by SSO is admitted again whenever it is touched (at most every
``TOUCH_SECONDS``): once the person loses the console's role (here by a SCIM group change
at their IdP's directory), the next request after the touch interval is refused, and the
session stays revoked after the role is given back."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import update

from propylon.admin import tenants as tenant_ops
from propylon.db.tables_operators import ConsoleSession
from propylon.operators.console_sessions import TOUCH_SECONDS, token_hash
from tests.conftest import Server
from tests.console.test_sso import ConsoleTenant, _person, _sso, sso_console


async def _platform_group(t: ConsoleTenant) -> str:
    r = await t.scim.get("/Groups", params={"filter": 'displayName eq "Platform"'})
    assert r.status_code == 200, r.text
    return str(r.json()["Resources"][0]["id"])


async def _members(t: ConsoleTenant, group_id: str, op: str, uid: str) -> None:
    change: dict[str, object] = (
        {"op": "add", "path": "members", "value": [{"value": uid}]}
        if op == "add"
        else {"op": "remove", "path": f'members[value eq "{uid}"]'}
    )
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [change]}
    r = await t.scim.patch(f"/Groups/{group_id}", json=body)
    assert r.status_code in (200, 204), r.text


async def _after_touch_interval(t: ConsoleTenant, browser: httpx.AsyncClient) -> None:
    """As if the session's last touch was longer ago than the touch interval."""
    token = browser.cookies.get("propylon_console", path="/admin")
    assert token
    async with t.rt.db.write() as s:
        row = await s.get(ConsoleSession, token_hash(token))
        assert row is not None
        await s.execute(
            update(ConsoleSession)
            .where(ConsoleSession.id == row.id)
            .values(last_seen_at=row.last_seen_at - timedelta(seconds=TOUCH_SECONDS + 5))
        )


async def test_sso_session_ends_when_the_role_goes_and_stays_ended(server: Server) -> None:
    async with sso_console(server) as t:
        ops = f"ops@{t.domain}"
        uid = await _person(t, ops, in_platform=True)
        group = await _platform_group(t)
        async with httpx.AsyncClient(base_url=t.url, timeout=30) as browser:
            assert (await _sso(t, browser, ops)).status_code == 200
            await _after_touch_interval(t, browser)
            still = await browser.get("/admin")  # re-admitted: still has the role
            assert still.status_code == 200 and ops in still.text
            await _members(t, group, "remove", uid)
            assert (await browser.get("/admin")).status_code == 200  # within the interval
            await _after_touch_interval(t, browser)
            gone = await browser.get("/admin")
            assert gone.status_code == 302 and "/admin/login" in gone.headers["location"]
            await _members(t, group, "add", uid)
            await _after_touch_interval(t, browser)
            assert (await browser.get("/admin")).status_code == 302
            assert (await browser.get("/admin/audit")).status_code == 302
        trail = await tenant_ops.audit_trail(
            t.rt, t.slug, limit=10, action="console.session.revoke"
        )
        assert [e["reason"] for e in trail] == ["no longer admitted: without the console's role"]


async def test_sso_session_ends_when_the_person_is_deactivated(server: Server) -> None:
    async with sso_console(server) as t:
        ops = f"ops@{t.domain}"
        uid = await _person(t, ops, in_platform=True)
        async with httpx.AsyncClient(base_url=t.url, timeout=30) as browser:
            assert (await _sso(t, browser, ops)).status_code == 200
            body = {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "active", "value": False}],
            }
            r = await t.scim.patch(f"/Users/{uid}", json=body)
            assert r.status_code in (200, 204), r.text
            await _after_touch_interval(t, browser)
            assert (await browser.get("/admin")).status_code == 302
        trail = await tenant_ops.audit_trail(
            t.rt, t.slug, limit=10, action="console.session.revoke"
        )
        assert [e["reason"] for e in trail] == ["no longer admitted: deactivated or deprovisioned"]
