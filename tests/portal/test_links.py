"""Setup links: created, listed and revoked through the CLI and the management API, redeemed
once by a browser; expired, reused, tampered, revoked and deleted-tenant links refused
without a write; the session they open is bound to the browser and ends with the link."""

from __future__ import annotations

from datetime import timedelta

import pytest

from propylon.admin import portal_links
from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from tests.conftest import Server
from tests.portal.helpers import browser, fields, new_link, new_tenant, portal_browser, redeem


async def _audit_count(server: Server, action: str) -> int:
    entries = await ops.audit_trail(server.rt, None, limit=1000, action=action)
    return len(entries)


async def test_cli_creates_lists_and_revokes_links(server: Server) -> None:
    tenant = await new_tenant(server)
    made = server.cli_json(
        "portal",
        "link",
        tenant.slug,
        "--intent",
        "sso",
        "--intent",
        "domains",
        "--expires",
        "30m",
        "--return-url",
        "https://platform.example/settings",
    )
    assert made["url"].startswith(f"{server.url}/portal/start?token=ptl_")
    assert made["intents"] == ["sso", "domains"]
    assert made["tenant"] == tenant.slug
    assert made["return_url"] == "https://platform.example/settings"
    listed = server.cli_json("portal", "links", tenant.slug)
    assert [(row["link_id"], row["status"]) for row in listed] == [(made["link_id"], "active")]
    assert "ptl_" not in str(listed)
    every = server.cli_json("portal", "links")
    assert made["link_id"] in {row["link_id"] for row in every}
    revoked = server.cli_json("portal", "revoke", made["link_id"])
    assert revoked["status"] == "revoked"
    async with browser(server) as client:
        page = await client.get(made["url"].removeprefix(server.url))
        assert page.status_code == 401
        assert "expired or was already used" in page.text
    everything = server.cli_json("portal", "link", tenant.slug, "--intent", "all")
    assert everything["intents"] == ["sso", "scim", "domains", "roles"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--intent", "admin"], "unknown intent"),
        (["--intent", "sso", "--expires", "9d"], "between 1 second"),
        (["--intent", "sso", "--expires", "soon"], "not a duration"),
        (["--intent", "sso", "--return-url", "http://platform.example/"], "https"),
        (["--intent", "sso", "--return-url", "javascript:alert(1)"], "host"),
    ],
)
async def test_cli_refuses_bad_links(server: Server, args: list[str], message: str) -> None:
    tenant = await new_tenant(server)
    out = server.cli("portal", "link", tenant.slug, *args, "--json", check=False)
    assert out.returncode != 0
    assert message in out.stdout
    assert server.cli_json("portal", "links", tenant.slug) == []


async def test_api_creates_lists_and_revokes_links(server: Server) -> None:
    tenant = await new_tenant(server)
    async with server.api("/api/v1") as api:
        made = await api.post(
            f"/tenants/{tenant.slug}/portal-links",
            json={"intents": ["scim"], "expires_in": "2h", "return_url": None},
        )
        assert made.status_code == 201, made.text
        link = made.json()
        assert link["intents"] == ["scim"]
        listed = (await api.get(f"/tenants/{tenant.slug}/portal-links")).json()["data"]
        assert [row["link_id"] for row in listed] == [link["link_id"]]
        assert listed[0]["created_by"].startswith("api_key:key_")
        bad = await api.post(f"/tenants/{tenant.slug}/portal-links", json={"intents": ["root"]})
        assert bad.status_code == 400
        too_long = await api.post(
            f"/tenants/{tenant.slug}/portal-links", json={"intents": ["sso"], "expires_in": 10**7}
        )
        assert too_long.status_code == 400
        unknown = await api.post("/tenants/nobody/portal-links", json={"intents": ["sso"]})
        assert unknown.status_code == 404
        gone = await api.delete(f"/portal-links/{link['link_id']}")
        assert gone.status_code == 200 and gone.json()["status"] == "revoked"
        assert (await api.delete("/portal-links/plk_nothing")).status_code == 404
        anonymous = await api.get(
            f"/tenants/{tenant.slug}/portal-links", headers={"Authorization": ""}
        )
        assert anonymous.status_code == 401
    assert await _audit_count(server, "portal.link.create") >= 1
    assert await _audit_count(server, "portal.link.revoke") >= 1


async def test_link_redeems_once_and_opens_a_session_bound_to_this_browser(
    server: Server,
) -> None:
    tenant = await new_tenant(server)
    link = await new_link(server, tenant.slug, ["sso"])
    path = link["url"].removeprefix(server.url)
    async with browser(server) as preview:  # a mail scanner: GET only, nothing consumed
        assert (await preview.get(path)).status_code == 200
        assert (await preview.get(path)).status_code == 200
    async with browser(server) as client, browser(server) as other:
        answer = await redeem(client, link["url"])
        assert answer.status_code == 303 and answer.headers["location"] == "/portal"
        cookie = answer.headers["set-cookie"]
        assert "propylon_portal=pss_" in cookie
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/portal" in cookie
        assert "ptl_" not in answer.headers["location"]
        overview = await client.get("/portal")
        assert overview.status_code == 200
        assert f"Org {tenant.slug}" in overview.text
        # the same link again, in this browser or another: refused, the session untouched
        again = await client.get(path)
        assert again.status_code == 401
        assert (await other.get(path)).status_code == 401
        assert (await other.get("/portal")).status_code == 401
        assert (await client.get("/portal")).status_code == 200
    assert await _audit_count(server, "portal.link.redeem") >= 1


async def test_a_link_cannot_be_redeemed_twice_even_by_a_racing_browser(server: Server) -> None:
    tenant = await new_tenant(server)
    link = await new_link(server, tenant.slug)
    path = link["url"].removeprefix(server.url)
    async with browser(server) as first, browser(server) as second:
        form_one = fields((await first.get(path)).text)
        form_two = fields((await second.get(path)).text)
        one = await first.post("/portal/start", data=form_one)
        two = await second.post("/portal/start", data=form_two)
        assert sorted([one.status_code, two.status_code]) == [303, 401]


async def test_tampered_unknown_and_malformed_tokens_are_refused_without_a_write(
    server: Server,
) -> None:
    tenant = await new_tenant(server)
    link = await new_link(server, tenant.slug)
    token = link["url"].split("token=", 1)[1]
    before = await _audit_count(server, "portal.link.redeem")
    async with browser(server) as client:
        page = await client.get(f"/portal/start?token={token}")
        form = fields(page.text)
        for bad in (token[:-2] + "xy", "ptl_" + "A" * 43, "", "x" * 5000, "ptl_\x00", token + "'"):
            assert (await client.get("/portal/start", params={"token": bad})).status_code == 401
            answer = await client.post("/portal/start", data=form | {"token": bad})
            assert answer.status_code == 401
            assert "propylon_portal" not in answer.headers.get("set-cookie", "")
        # without the form's anti-forgery token: refused, the link still usable
        assert (await client.post("/portal/start", data={"token": token})).status_code == 403
        assert (await client.post("/portal/start", content=b"\xff\xfe")).status_code in (400, 401)
    assert await _audit_count(server, "portal.link.redeem") == before
    assert (await redeem(browser(server), link["url"])).status_code == 303


async def test_expired_link_and_expired_session_are_refused(server: Server) -> None:
    tenant = await new_tenant(server)
    link = await new_link(server, tenant.slug)
    rt = server.rt
    # the server runs its own clock: age the rows instead
    from sqlalchemy import update

    from propylon.db.tables_portal import PortalLink, PortalSession

    async with rt.db.write() as s:
        await s.execute(
            update(PortalLink)
            .where(PortalLink.id == link["link_id"])
            .values(expires_at=rt.clock() - timedelta(seconds=1))
        )
    async with browser(server) as client:
        assert (await client.get(link["url"].removeprefix(server.url))).status_code == 401
    async with portal_browser(server, tenant.slug) as client:
        assert (await client.get("/portal")).status_code == 200
        async with rt.db.write() as s:
            await s.execute(
                update(PortalSession)
                .where(PortalSession.tenant_id == tenant.id)
                .values(expires_at=rt.clock() - timedelta(seconds=1))
            )
        refused = await client.get("/portal")
        assert refused.status_code == 401
        assert "expired or was already used" in refused.text


async def test_revoking_the_link_ends_its_session_at_once(server: Server) -> None:
    tenant = await new_tenant(server)
    link = await new_link(server, tenant.slug)
    async with browser(server) as client:
        assert (await redeem(client, link["url"])).status_code == 303
        assert (await client.get("/portal")).status_code == 200
        await portal_links.revoke_link(server.rt, CLI, link["link_id"])
        assert (await client.get("/portal")).status_code == 401


async def test_deleting_the_tenant_ends_its_portal_session(server: Server) -> None:
    tenant = await new_tenant(server)
    async with portal_browser(server, tenant.slug) as client:
        await ops.delete_tenant(server.rt, CLI, tenant.slug)
        assert (await client.get("/portal")).status_code == 401


async def test_sign_out_ends_the_session_and_needs_the_form_token(server: Server) -> None:
    tenant = await new_tenant(server)
    async with portal_browser(server, tenant.slug) as client:
        page = await client.get("/portal")
        assert (await client.post("/portal/sign-out", data={})).status_code == 403
        assert (await client.get("/portal")).status_code == 200
        csrf = fields(page.text)["csrf_token"]
        done = await client.post("/portal/sign-out", data={"csrf_token": csrf})
        assert done.status_code == 303 and done.headers["location"] == "/portal/signed-out"
        client.cookies.clear()
        assert (await client.get("/portal")).status_code == 401


async def test_a_session_cookie_not_of_ours_is_refused(server: Server) -> None:
    async with browser(server) as client:
        for value in ("pss_forged", "x" * 4000, "", "pss_" + "A" * 43):
            client.cookies.set("propylon_portal", value, path="/portal")
            answer = await client.get("/portal")
            assert answer.status_code == 401
            client.cookies.clear()
