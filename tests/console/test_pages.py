"""The console's pages with real data: tenants and their parts, a person's sessions revoked
(one, then all) as the operator, portal links created (the URL shown once), listed and
revoked, the audit trail's filters, events, deliveries; another tenant's person is a 404."""

from __future__ import annotations

import asyncio
import re
import secrets
from contextlib import aclosing

import httpx
import pytest
from sqlalchemy import select, update

from propylon.admin import directories, saml_connections, webhooks
from propylon.admin import tenants as tenant_ops
from propylon.admin.audited import CLI
from propylon.db.tables_delivery import DeliveryItem
from propylon.directory.views import UserFilter
from propylon.tenants.directories import scim_base_url
from propylon.tenants.individuals import INDIVIDUALS_TENANT_ID
from propylon.tenants.saml_connections import IdpSource
from tests.conftest import Server
from tests.console.helpers import csrf, new_operator, signed_in
from tests.http.test_scim_users import user_body
from tests.password.helpers import PASSWORD, browser, new_account, sign_in
from tests.password.helpers import new_email as person_email
from tests.saml.idp import make_keypair


@pytest.fixture(autouse=True)
def _one_backend(server: Server) -> None:
    """The pages call the service layer the management API's tests try on both backends;
    walking them once is enough."""
    if server.name != "sqlite":
        pytest.skip("the pages are the same on both backends")


async def _tenant(server: Server) -> tuple[str, str]:
    slug = f"acme-{secrets.token_hex(3)}"
    t = await tenant_ops.create_tenant(
        server.rt, CLI, slug=slug, name=f"Acme {slug}", domains=[f"{slug}.example"], seats=None
    )
    await tenant_ops.create_directory(server.rt, CLI, t.id, name="Okta directory")
    source = IdpSource(
        sso_url="https://idp.console.test/sso",
        idp_entity_id="http://idp.console.test/exk",
        certificates=(make_keypair("console-tenant").cert,),
    )
    await saml_connections.create_connection(server.rt, CLI, t.id, source)
    return t.id, slug


async def test_tenants_and_a_tenants_parts(server: Server) -> None:
    tenant_id, slug = await _tenant(server)
    client = await signed_in(server.url, await new_operator(server))
    async with aclosing(client):
        home = await client.get("/admin")
        assert home.status_code == 200 and f"/admin/tenants/{tenant_id}" in home.text
        detail = await client.get(f"/admin/tenants/{tenant_id}")
        assert detail.status_code == 200
        assert "Okta directory" in detail.text and f"{slug}.example" in detail.text
        assert "http://idp.console.test/exk" in detail.text and "/metadata" in detail.text
        assert (await client.get(f"/admin/tenants/{slug}")).status_code == 200
        missing = await client.get("/admin/tenants/tenant_nothere")
        assert missing.status_code == 404 and "There is no tenant" in missing.text
        assert (await client.get("/admin/tenants/" + "x" * 80)).status_code == 404


async def test_a_persons_sessions_revoked_one_then_all(server: Server) -> None:
    address = person_email()
    await new_account(server, address)  # signs in once: one session
    await new_account_session(server, address)  # a second session
    users = await directories.list_users(
        server.rt, INDIVIDUALS_TENANT_ID, offset=0, limit=5, where=UserFilter(email=address)
    )
    user_id = users[0]["id"]
    op = await new_operator(server)
    client = await signed_in(server.url, op)
    async with aclosing(client):
        base = f"/admin/tenants/{INDIVIDUALS_TENANT_ID}"
        found = await client.get(f"{base}/users", params={"email": address.upper()})
        assert found.status_code == 200 and f"{base}/users/{user_id}" in found.text
        page = await client.get(f"{base}/users/{user_id}")
        sids = re.findall(r'name="session" value="([^"]+)"', page.text)
        assert len(sids) == 2, page.text
        token = await csrf(client, f"{base}/users/{user_id}")
        r = await client.post(
            f"{base}/users/{user_id}/sessions/revoke",
            data={"session": sids[0], "csrf_token": token},
        )
        assert r.status_code == 303
        page = await client.get(r.headers["location"])
        assert "1 session(s) revoked" in page.text and sids[0] not in page.text
        # a session id not of this person's live ones is refused
        r = await client.post(
            f"{base}/users/{user_id}/sessions/revoke",
            data={"session": sids[0], "csrf_token": token},
        )
        assert r.status_code == 404
        r = await client.post(
            f"{base}/users/{user_id}/sessions/revoke", data={"all": "1", "csrf_token": token}
        )
        assert r.status_code == 303
        page = await client.get(f"{base}/users/{user_id}")
        assert "No active sessions." in page.text
        # the person is not found under another tenant
        other, _ = await _tenant(server)
        assert (await client.get(f"/admin/tenants/{other}/users/{user_id}")).status_code == 404
        r = await client.post(
            f"/admin/tenants/{other}/users/{user_id}/sessions/revoke",
            data={"all": "1", "csrf_token": token},
        )
        assert r.status_code == 404
        audit = await client.get("/admin/audit", params={"actor": op["id"]})
        assert audit.status_code == 200
        assert "session.revoke" in audit.text and "user.sessions_revoke" in audit.text


async def new_account_session(server: Server, address: str) -> None:
    async with browser(server.url) as b:
        r = await sign_in(b, address, PASSWORD)
        assert r.status_code in (200, 303), r.text


async def test_portal_links_created_listed_and_revoked(server: Server) -> None:
    tenant_id, slug = await _tenant(server)
    op = await new_operator(server)
    client = await signed_in(server.url, op)
    async with aclosing(client):
        token = await csrf(client, "/admin/portal-links")
        made = await client.post(
            "/admin/portal-links",
            data={
                "tenant": tenant_id,
                "intent_sso": "on",
                "intent_scim": "on",
                "expires": "1h",
                "csrf_token": token,
            },
        )
        assert made.status_code == 201, made.text
        url = re.search(r'value="(http[^"]+/portal/start\?token=[^"]+)"', made.text)
        assert url, made.text
        link_id = re.search(r"(plk_[a-z0-9]+)", made.text)
        assert link_id
        listed = await client.get("/admin/portal-links", params={"tenant": tenant_id})
        assert link_id.group(1) in listed.text and url.group(1) not in listed.text
        # the link works: its start page answers
        start = await client.get(url.group(1))
        assert start.status_code == 200
        refused = await client.post(
            "/admin/portal-links",
            data={"tenant": tenant_id, "expires": "1h", "csrf_token": token},
        )
        assert refused.status_code == 400 and "Choose at least one" in refused.text
        bad_return = await client.post(
            "/admin/portal-links",
            data={
                "tenant": tenant_id,
                "intent_sso": "on",
                "expires": "1h",
                "return_url": "javascript:alert(1)",
                "csrf_token": token,
            },
        )
        assert bad_return.status_code == 400
        r = await client.post(
            f"/admin/portal-links/{link_id.group(1)}/revoke", data={"csrf_token": token}
        )
        assert r.status_code == 303
        listed = await client.get(r.headers["location"])
        assert "revoked" in listed.text
        assert (await client.get(url.group(1))).status_code >= 400
        audit = await client.get(
            "/admin/audit", params={"tenant": slug, "action": "portal.link.create"}
        )
        assert audit.status_code == 200 and link_id.group(1) in audit.text
        assert op["id"] in audit.text


async def test_audit_events_and_deliveries_filters(server: Server) -> None:
    tenant_id, _ = await _tenant(server)
    client = await signed_in(server.url, await new_operator(server))
    async with aclosing(client):
        r = await client.get("/admin/audit", params={"since": "yesterday"})
        assert r.status_code == 400 and 'href="#since"' in r.text
        r = await client.get("/admin/audit", params={"tenant": "tenant_nothere"})
        assert r.status_code == 400 and "There is no tenant" in r.text
        r = await client.get("/admin/audit", params={"since": "2000-01-01", "tenant": tenant_id})
        assert r.status_code == 200 and "scim.directory.create" in r.text
        r = await client.get("/admin/audit", params={"since": "2099-12-31T23:00:00-00:30"})
        assert r.status_code == 200 and "No entries match." in r.text
        for edge in (
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-14:00",
            "0001-01-01",
            "1969-12-31T23:59:59Z",
            "2101-01-01",
        ):
            r = await client.get("/admin/audit", params={"since": edge})
            assert r.status_code == 400 and 'href="#since"' in r.text, edge
        assert (await client.get("/admin/events")).status_code == 200
        r = await client.get("/admin/events", params={"type": "Not A Type"})
        assert r.status_code == 400
        r = await client.get("/admin/events", params={"tenant": tenant_id, "after": "0"})
        assert r.status_code == 200
        assert (await client.get("/admin/deliveries", params={"state": "dead"})).status_code == 200
        assert (await client.get("/admin/deliveries", params={"state": "bogus"})).status_code == 200
        assert (await client.get("/admin/deliveries/987654321")).status_code == 404
        assert (await client.get("/admin/deliveries/abc")).status_code in (400, 404, 422)
        token = await csrf(client, "/admin/deliveries")
        r = await client.post("/admin/deliveries/replay", data={"csrf_token": token})
        assert r.status_code == 400
        r = await client.post(
            "/admin/deliveries/replay", data={"ids": "987654321", "csrf_token": token}
        )
        assert r.status_code == 303 and "replayed=0" in r.headers["location"]


async def test_hostile_input_is_never_a_server_error(server: Server) -> None:
    client = await signed_in(server.url, await new_operator(server))
    huge = str(2**80)
    async with aclosing(client):
        for path, params in [
            ("/admin/deliveries/" + huge, {}),
            ("/admin/deliveries", {"after": huge}),
            ("/admin/deliveries", {"after": "-5", "kind": "\x00"}),
            ("/admin/events", {"after": huge}),
            ("/admin/events?tenant=%ED%B3%BF%FF", {}),
            ("/admin/audit", {"tenant": "a" * 500, "since": "9" * 500}),
            ("/admin/audit", {"actor": "\x00"}),
            ("/admin/tenants/%00/users", {"offset": huge}),
            ("/admin/tenants/tenant_x/users", {"email": "a@" + "b" * 400}),
            ("/admin/portal-links", {"tenant": "\x00"}),
        ]:
            r = await client.get(path, params=params)
            assert r.status_code < 500, (path, params, r.status_code)
        token = await csrf(client, "/admin/portal-links")
        for data in [
            {"tenant": "t" * 70, "intent_sso": "on"},
            {"tenant": "tenant_nothere", "intent_sso": "on", "expires": "99999999d"},
            {"tenant": "tenant_nothere", "intent_sso": "on", "expires": "soon"},
        ]:
            r = await client.post("/admin/portal-links", data={**data, "csrf_token": token})
            assert r.status_code == 400, (data, r.status_code)
        r = await client.post("/admin/deliveries/replay", data={"ids": "١٢", "csrf_token": token})
        assert r.status_code == 400


async def test_operators_and_their_console_sessions(server: Server) -> None:
    one, two = await new_operator(server), await new_operator(server)
    first = await signed_in(server.url, one)
    second = await signed_in(server.url, two)
    async with aclosing(first), aclosing(second):
        page = await first.get("/admin/operators")
        assert page.status_code == 200 and one["email"] in page.text and two["email"] in page.text
        assert f"{one['email']} (you)" in page.text
        actions = re.findall(r'action="/admin/operators/sessions/([0-9a-f]{16})/revoke"', page.text)
        assert len(actions) >= 2
        token = await csrf(first, "/admin/operators")
        bogus = await first.post(
            "/admin/operators/sessions/zzzz/revoke", data={"csrf_token": token}
        )
        assert bogus.status_code == 404
        # the second operator's session: the row of the sessions table naming them
        rows = [r for r in page.text.split("<tr>") if two["email"] in r and "/revoke" in r]
        (target,) = re.findall(r"/admin/operators/sessions/([0-9a-f]{16})/revoke", rows[0])
        r = await first.post(
            f"/admin/operators/sessions/{target}/revoke", data={"csrf_token": token}
        )
        assert r.status_code == 303
        assert (await second.get("/admin")).status_code == 302  # ended at once
        assert (await first.get("/admin")).status_code == 200
        trail = await first.get("/admin/audit", params={"action": "console.session.revoke"})
        assert target in trail.text


async def test_a_dead_delivery_shown_and_replayed(server: Server) -> None:
    tenant_id, _ = await _tenant(server)
    d = await tenant_ops.create_directory(server.rt, CLI, tenant_id, name="feed")
    hook = await webhooks.create_endpoint(
        server.rt, CLI, url="http://127.0.0.1:9/hook", tenant_id=tenant_id
    )
    async with httpx.AsyncClient(
        base_url=scim_base_url(server.url, d["directory_id"]),
        headers={"Authorization": f"Bearer {d['token']}"},
    ) as scim:
        email = f"fed-{secrets.token_hex(3)}@example.com"
        assert (await scim.post("/Users", json=user_body(email))).status_code == 201
    row_id = None
    for _ in range(200):  # the feed numbers the event, its hook queues the delivery
        async with server.rt.db.read() as s:
            row_id = await s.scalar(
                select(DeliveryItem.id).where(DeliveryItem.destination == hook["id"])
            )
        if row_id is not None:
            break
        await asyncio.sleep(0.05)
    assert row_id is not None
    async with server.rt.db.write() as s:  # as if its retry period had run out
        await s.execute(
            update(DeliveryItem)
            .where(DeliveryItem.id == row_id)
            .values(state="dead", claim=None, claimed_until=None, finished_at=server.rt.clock())
        )
    client = await signed_in(server.url, await new_operator(server))
    async with aclosing(client):
        dead = await client.get("/admin/deliveries", params={"state": "dead"})
        assert f'href="/admin/deliveries/{row_id}"' in dead.text
        assert f'aria-label="Replay delivery {row_id}"' in dead.text
        detail = await client.get(f"/admin/deliveries/{row_id}")
        assert detail.status_code == 200 and "Replay this delivery" in detail.text
        token = await csrf(client, "/admin/deliveries")
        r = await client.post(
            "/admin/deliveries/replay", data={"ids": str(row_id), "csrf_token": token}
        )
        assert r.status_code == 303 and "replayed=1" in r.headers["location"]
        page = await client.get(r.headers["location"])
        assert "1 dead deliveries will be tried again now." in page.text
    async with server.rt.db.read() as s:
        state = await s.scalar(select(DeliveryItem.state).where(DeliveryItem.id == row_id))
    assert state != "dead"
