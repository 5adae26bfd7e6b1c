"""The demo host's pages over HTTP: off unless enabled; anonymous visits write nothing; the
sign-in is bound to the browser that started it (state, once); the IdP control needs the
page's anti-forgery token and takes only the demo's groups; hostile input gets a 4xx."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import lxml.html
import pytest

from propylon.admin import tenants as ops
from propylon.demo.seed import seed
from propylon.demo.state import DemoState
from propylon.runtime import Runtime, build_runtime
from tests.conftest import Server, drop_backend, make_backend, stop_server
from tests.demo.serving import serve


@pytest.fixture(scope="module")
async def demo_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[str, Runtime, DemoState]]:
    """``serve`` with the demo and the test IdP enabled, seeded once it listens (the host
    finds the state at its first request)."""
    backend = make_backend("sqlite", tmp_path_factory.mktemp("demo"))
    enabled = {"PROPYLON_DEMO_ENABLED": "true", "PROPYLON_TEST_IDP_ENABLED": "true"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROPYLON_")}
    url, proc = serve(["serve", "--host", "127.0.0.1"], env | backend.env | enabled)
    settings = backend.settings().model_copy(update={"public_url": url, "demo_enabled": True})
    rt = build_runtime(settings)
    try:
        state = await seed(rt, Path(backend.env["PROPYLON_DATA_DIR"]))
        yield url, rt, state
    finally:
        await rt.close()
        stop_server(proc)
        drop_backend(backend)


def _form(html: str, base: str) -> tuple[str, dict[str, str]]:
    form = lxml.html.fromstring(html).forms[0]
    return str(httpx.URL(base).join(form.action)), dict(form.form_values())


async def _sign_in(c: httpx.AsyncClient, email: str) -> httpx.Response:
    """The browser's way: /demo/login → Propylon → the test IdP's picker → its answer,
    posted to the ACS → back through /oauth2/authorize to /demo/callback → /demo."""
    picker = await c.get("/demo/login", follow_redirects=True)
    action, fields = _form(picker.text, str(picker.url))
    answer = await c.post(action, data=fields | {"email": email, "scenario": "success"})
    action, fields = _form(answer.text, str(answer.url))
    return await c.post(action, data=fields, follow_redirects=True)


async def test_demo_pages_are_404_unless_enabled(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url) as c:
        for path in ("/demo", "/demo/login", "/demo/callback", "/demo/live.json"):
            assert (await c.get(path)).status_code == 404, path
        assert (await c.post("/demo/groups")).status_code == 404


async def test_anonymous_visits_write_nothing(
    demo_server: tuple[str, Runtime, DemoState],
) -> None:
    url, rt, _ = demo_server
    before = len(await ops.audit_trail(rt, None, limit=10_000))
    async with httpx.AsyncClient(base_url=url) as c:
        welcome = await c.get("/demo")
        assert welcome.status_code == 200 and "Sign in with SSO" in welcome.text
        assert (await c.get("/demo/live.json")).json() == {"signed_in": False}
        assert (await c.post("/demo/groups", data={"group": "x"})).status_code == 303
        assert (await c.get("/demo/callback?state=x&code=y")).status_code == 400
        login = await c.get("/demo/login")
        assert login.status_code == 303
        assert "code_challenge_method=S256" in login.headers["location"]
        assert "organization=demo" in login.headers["location"]
    assert len(await ops.audit_trail(rt, None, limit=10_000)) == before


async def test_sign_in_then_the_idp_control(demo_server: tuple[str, Runtime, DemoState]) -> None:
    url, _, state = demo_server
    async with httpx.AsyncClient(base_url=url, timeout=30) as c:
        page = await _sign_in(c, "alan@demo.example")
        assert page.url == f"{url}/demo" and "alan@demo.example" in page.text
        live = (await c.get("/demo/live.json")).json()
        assert live["roles"] == ["viewer"] and live["tier"] == "basic"
        csrf = lxml.html.fromstring(page.text).forms[0].fields["csrf_token"]
        engineering = state.groups["Engineering"]

        # a forged form (no token, or another's) changes nothing
        for token in ("", "forged"):
            r = await c.post("/demo/groups", data={"csrf_token": token, "group": engineering})
            assert r.status_code == 403
        # only the demo directory's groups
        r = await c.post(
            "/demo/groups", data={"csrf_token": csrf, "group": "grp_other", "action": "add"}
        )
        assert r.status_code == 400
        r = await c.post(
            "/demo/groups", data={"csrf_token": csrf, "group": engineering, "action": "add"}
        )
        assert r.status_code == 303 and r.headers["location"].startswith("/demo?joined=")
        assert "added you to Engineering" in (await c.get(r.headers["location"])).text
        for _ in range(50):
            live = (await c.get("/demo/live.json")).json()
            if "admin" in live.get("roles", []):
                break
            await asyncio.sleep(0.2)
        assert live["roles"] == ["admin", "viewer"] and live["source"] == "view"
        r = await c.post("/demo/groups", data={"csrf_token": csrf, "group": engineering})
        assert r.status_code == 303 and r.headers["location"].startswith("/demo?left=")

        # oversized or unreadable forms are refused with a 4xx
        r = await c.post("/demo/groups", content=b"a=" + b"x" * 10_000)
        assert r.status_code == 413
        # sign out: the host's session is gone
        r = await c.post("/demo/logout", data={"csrf_token": csrf})
        assert r.status_code == 303
        assert (await c.get("/demo/live.json")).json() == {"signed_in": False}


async def test_the_answer_counts_once_and_only_in_the_browser_that_asked(
    demo_server: tuple[str, Runtime, DemoState],
) -> None:
    url, _, _ = demo_server
    async with httpx.AsyncClient(base_url=url, timeout=30) as c:
        picker = await c.get("/demo/login", follow_redirects=True)
        action, fields = _form(picker.text, str(picker.url))
        answer = await c.post(action, data=fields | {"email": "ada@demo.example"})
        action, fields = _form(answer.text, str(answer.url))
        back = await c.post(action, data=fields, follow_redirects=False)
        # follow Propylon's redirects up to the demo's callback, without taking it
        while not back.headers["location"].startswith(f"{url}/demo/callback"):
            back = await c.get(back.headers["location"])
        callback = back.headers["location"]
        async with httpx.AsyncClient() as other:  # another browser: no demo session
            assert (await other.get(callback)).status_code == 400
        tampered = callback.replace("state=", "state=x")
        assert (await c.get(tampered)).status_code == 400  # and the pending sign-in is spent
        assert (await c.get(callback)).status_code == 400
