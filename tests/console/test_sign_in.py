"""Signing in to the console at /admin: password then TOTP (codes computed here with the RFC
6238 reference algorithm), wrong ones refused alike, a used code never accepted again, CSRF
on every POST, sign-out revoking the session server-side, and every page behind sign-in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import aclosing
from datetime import timedelta

from sqlalchemy import func, select

from propylon.admin import operators
from propylon.admin.audited import CLI
from propylon.api.console_auth import local_next
from propylon.db.tables import AuditEntry
from propylon.db.tables_operators import ConsoleSession
from tests.conftest import Server
from tests.console.helpers import (
    PASSWORD,
    browser,
    code_now,
    code_step,
    csrf,
    new_email,
    new_operator,
    password_step,
    reference_totp,
    signed_in,
)

PAGES = [
    "/admin",
    "/admin/tenants/tenant_x",
    "/admin/tenants/tenant_x/users",
    "/admin/tenants/tenant_x/users/user_x",
    "/admin/audit",
    "/admin/events",
    "/admin/deliveries",
    "/admin/deliveries/1",
    "/admin/portal-links",
    "/admin/operators",
]


async def _counts(server: Server) -> tuple[int, int]:
    async with server.rt.db.read() as s:
        audit = await s.scalar(select(func.count()).select_from(AuditEntry))
        sessions = await s.scalar(select(func.count()).select_from(ConsoleSession))
    return int(audit or 0), int(sessions or 0)


def _cli(server: Server, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **server.backend.env, "PROPYLON_PUBLIC_URL": server.url}
    return subprocess.run(
        [sys.executable, "-m", "propylon.cli", "operator", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_cli_creates_an_operator_who_signs_in_with_password_and_totp(server: Server) -> None:
    email = new_email()
    made = _cli(server, "create", email, "--password-stdin", "--json", stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr

    op = json.loads(made.stdout)
    assert op["email"] == email and op["id"].startswith("op_")
    assert op["otpauth_uri"].startswith("otpauth://totp/")
    assert op["totp_secret"] in op["otpauth_uri"]
    listed = json.loads(_cli(server, "list", "--json").stdout)
    assert {"id": op["id"], "email": email} in [{k: o[k] for k in ("id", "email")} for o in listed]
    again = _cli(server, "create", email, "--password-stdin", "--json", stdin=PASSWORD + "\n")
    assert again.returncode != 0 and "exists" in again.stdout + again.stderr
    weak = _cli(server, "create", new_email(), "--password-stdin", "--json", stdin="password\n")
    assert weak.returncode != 0

    client = await signed_in(server.url, op)
    home = await client.get("/admin")
    assert home.status_code == 200 and email in home.text and "Tenants" in home.text
    cookie = next(c for c in client.cookies.jar if c.name == "propylon_console")
    assert cookie.path == "/admin" and cookie.has_nonstandard_attr("HttpOnly")

    # reset-totp: the old secret stops working and the session ends
    reset = _cli(server, "reset-totp", email, "--json")
    assert reset.returncode == 0, reset.stderr
    assert (await client.get("/admin")).status_code == 302
    removed = _cli(server, "remove", op["id"], "--json")
    assert removed.returncode == 0 and '"removed": true' in removed.stdout


async def test_wrong_password_unknown_email_and_wrong_code_are_refused(server: Server) -> None:
    op = await new_operator(server)
    before = await _counts(server)
    async with browser(server.url) as b:
        wrong = await password_step(b, op["email"], "not the password at all")
        unknown = await password_step(b, new_email())
        assert wrong.status_code == unknown.status_code == 401
        assert "The email address or password is incorrect." in wrong.text
        assert wrong.text.replace(op["email"], "X").count("incorrect") == unknown.text.count(
            "incorrect"
        )
        # the code page is not reachable without the password step
        assert (await b.get("/admin/login/code")).status_code == 303
        assert (await password_step(b, op["email"])).status_code == 303
        bad = await code_step(b, "000000" if code_now(op) != "000000" else "111111")
        assert bad.status_code == 401 and "The code is not right" in bad.text
        assert (await b.get("/admin")).status_code == 302
    assert await _counts(server) == before  # refused attempts write nothing


async def test_a_used_code_is_never_accepted_again(server: Server) -> None:
    op = await new_operator(server)
    code = code_now(op)
    async with browser(server.url) as first:
        await password_step(first, op["email"])
        assert (await code_step(first, code)).status_code == 303
    async with browser(server.url) as second:
        assert (await password_step(second, op["email"])).status_code == 303
        replay = await code_step(second, code)
        assert replay.status_code == 401
        # an earlier step's code is refused too once a later one was used
        assert (await code_step(second, code_now(op, -1))).status_code == 401
        # the next step's code (within the ±1 window) is accepted once
        assert (await code_step(second, code_now(op, 1))).status_code == 303


async def test_csrf_is_required(server: Server) -> None:
    op = await new_operator(server)
    async with browser(server.url) as b:
        await b.get("/admin/login")
        r = await b.post("/admin/login", data={"email": op["email"], "password": PASSWORD})
        assert r.status_code == 403
        r = await b.post(
            "/admin/login",
            data={"email": op["email"], "password": PASSWORD, "csrf_token": "0" * 64},
        )
        assert r.status_code == 403
    client = await signed_in(server.url, op)
    async with aclosing(client):
        r = await client.post("/admin/logout", data={})
        assert r.status_code == 403
        r = await client.post("/admin/deliveries/replay", data={"ids": "1"})
        assert r.status_code == 403
        assert (await client.get("/admin")).status_code == 200


async def test_sign_out_revokes_the_session_server_side(server: Server) -> None:
    op = await new_operator(server)
    client = await signed_in(server.url, op)
    async with aclosing(client):
        token = client.cookies.get("propylon_console", path="/admin")
        assert token
        r = await client.post("/admin/logout", data={"csrf_token": await csrf(client, "/admin")})
        assert r.status_code == 303 and r.headers["location"].startswith("/admin/login")
    async with browser(server.url) as thief:  # the old cookie, replayed, is dead
        thief.cookies.set("propylon_console", token, path="/admin")
        assert (await thief.get("/admin")).status_code == 302


async def test_every_page_needs_a_session(server: Server) -> None:
    async with browser(server.url) as b:
        for path in PAGES:
            r = await b.get(path)
            assert r.status_code == 302, path
            assert r.headers["location"].split("?")[0] == "/admin/login", path
        b.cookies.set("propylon_console", "x" * 43, path="/admin")
        for path in PAGES:
            assert (await b.get(path)).status_code == 302, path
        r = await b.post("/admin/deliveries/replay", data={"ids": "1"})
        assert r.status_code in (302, 403)


async def test_code_is_checked_against_this_operators_secret(server: Server) -> None:
    one, other = await new_operator(server), await new_operator(server)
    async with browser(server.url) as b:
        await password_step(b, one["email"])
        wrong = reference_totp(other["totp_secret"], time.time())
        if wrong != code_now(one):
            assert (await code_step(b, wrong)).status_code == 401


async def test_sessions_end_when_idle_and_at_their_absolute_lifetime(server: Server) -> None:
    op = await new_operator(server)
    client = await signed_in(server.url, op)
    async with aclosing(client):
        token = client.cookies.get("propylon_console", path="/admin")
        assert token
    rt = server.rt
    real = rt.clock
    st = rt.settings
    try:
        assert await operators.session_of(rt, token) is not None
        now = real()
        rt.clock = lambda: now + timedelta(seconds=st.console_session_idle_seconds + 5)
        assert await operators.session_of(rt, token) is None  # idle too long
        # used often enough never to be idle, it still ends at its absolute lifetime
        at = 0
        while at + st.console_session_idle_seconds // 2 < st.console_session_absolute_seconds:
            at += st.console_session_idle_seconds // 2
            rt.clock = lambda at=at: now + timedelta(seconds=at)
            assert await operators.session_of(rt, token) is not None, at
        rt.clock = lambda: now + timedelta(seconds=st.console_session_absolute_seconds + 1)
        assert await operators.session_of(rt, token) is None
    finally:
        rt.clock = real


async def test_a_password_is_compared_as_it_was_hashed_nfkc(server: Server) -> None:
    plain = "console operator passphrase 9"
    wide = "".join(chr(ord(c) + 0xFEE0) for c in "console") + plain[7:]  # fullwidth: NFKC → ASCII
    op = await operators.create_operator(server.rt, CLI, new_email(), wide)
    async with browser(server.url) as b:
        assert (await password_step(b, op["email"], wide)).status_code == 303
    async with browser(server.url) as b:
        assert (await password_step(b, op["email"], plain)).status_code == 303


async def test_back_to_the_page_asked_for_and_never_elsewhere(server: Server) -> None:
    op = await new_operator(server)
    async with browser(server.url) as b:
        r = await b.get("/admin/audit", params={"action": "tenant.create"})
        wanted = "/admin/login?next=%2Fadmin%2Faudit%3Faction%3Dtenant.create"
        assert r.headers["location"] == wanted
        page = await b.get(r.headers["location"])
        assert 'name="next" value="/admin/audit?action=tenant.create"' in page.text
        token = await csrf(b, r.headers["location"])
        data = {
            "email": op["email"],
            "password": PASSWORD,
            "next": "/admin/audit?action=tenant.create",
            "csrf_token": token,
        }
        assert (await b.post("/admin/login", data=data)).status_code == 303
        done = await code_step(b, code_now(op))
        assert done.headers["location"] == "/admin/audit?action=tenant.create"
    for bad in [
        "https://evil.example/",
        "//evil.example/admin",
        "/admin.evil",
        "/adminx",
        "/admin/login",
        "/admin\\evil",
        "/elsewhere",
        "/admin/\r\nSet-Cookie: x",
    ]:
        assert local_next(bad) is None, bad
    for good in ["/admin", "/admin/audit?tenant=t", "/admin/tenants/tenant_x/users"]:
        assert local_next(good) == good
