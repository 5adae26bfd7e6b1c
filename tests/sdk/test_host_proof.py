"""Issue 14's proof with a real deployment (``deployment.py``): two Propylon processes on
PostgreSQL and Redis, and a separate host-platform process verifying tokens with the SDK.
The scenarios share one deployment, hence one test running them in turn (xdist would start a
deployment per worker for a module-scoped fixture).

- a SCIM deactivation at one Propylon process: the platform's next request with the old
  token is refused;
- a group or department change: the platform sees the new role or tier without a new
  sign-in;
- restarted platform and Propylon processes do not resurrect the revoked session;
- with Redis gone, and then Propylon gone, the platform refuses rather than honours.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from propylon.admin import entitlements as ent
from propylon.admin.audited import CLI
from propylon.errors import AlreadyExists
from tests.sdk.deployment import Deployment, patch, stop

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@pytest.fixture
async def deployment(tmp_path: Path) -> AsyncIterator[Deployment]:
    d = Deployment(tmp_path)
    try:
        await d.start()
        d.wait_fresh()
        yield d
    finally:
        await d.close()


async def until(check: Callable[[], Any], seconds: float) -> tuple[Any, float]:
    """Poll ``check`` until it returns a truthy value: (value, seconds it took)."""
    start = time.monotonic()
    while True:
        value = check()
        if value:
            return value, time.monotonic() - start
        if time.monotonic() - start > seconds:
            raise AssertionError(f"not within {seconds} s")
        await asyncio.sleep(0.01)


def refused(d: Deployment, token: str) -> Callable[[], str | None]:
    def check() -> str | None:
        r = d.me(token)
        return r.json()["detail"] if r.status_code == 401 else None

    return check


async def _a_scim_deactivation_at_one_process_refuses_the_token_at_the_platform(
    d: Deployment,
) -> None:
    person, token = await d.person()
    r = d.me(token)
    assert r.status_code == 200, r.text
    assert r.json()["user"] == person.user_id and r.json()["sid"] == person.session_id
    assert (
        httpx.get(f"{d.host}/asgi/me", headers={"Authorization": f"Bearer {token}"}).json()["user"]
        == person.user_id
    )
    async with d.scim_at_b(person) as scim:
        r = await scim.patch(
            f"/Users/{person.user_id}", json=patch({"op": "replace", "value": {"active": False}})
        )
        assert r.status_code == 200, r.text
    reason, took = await until(refused(d, token), 5)
    assert reason == "user_revoked" and took < 1.5, (reason, took)
    asgi = httpx.get(f"{d.host}/asgi/me", headers={"Authorization": f"Bearer {token}"})
    assert asgi.status_code == 401 and "invalid_token" in asgi.headers["www-authenticate"]


async def _declare(d: Deployment, s: str) -> None:
    assert d.server is not None
    for kind, name in [("role", f"viewer-{s}"), ("role", f"clinician-{s}"),
                       ("tier", f"basic-{s}"), ("tier", f"pro-{s}")]:  # fmt: skip
        with contextlib.suppress(AlreadyExists):
            await ent.catalog_add(d.server.rt, CLI, kind, name)


async def _a_group_or_department_change_reaches_the_platforms_roles_without_sign_in(
    d: Deployment,
) -> None:
    assert d.server is not None
    person, token = await d.person()
    s = person.tenant_slug[-6:]
    await _declare(d, s)
    await ent.rules_set(
        d.server.rt,
        CLI,
        person.tenant_id,
        {
            "defaults": {"roles": [f"viewer-{s}"], "tier": f"basic-{s}"},
            "rules": [
                {
                    "name": "nurses",
                    "priority": 1,
                    "when": {"any_groups": [f"Nurses-{s}"]},
                    "grant": {"roles": [f"clinician-{s}"]},
                },
                {
                    "name": "clinical",
                    "priority": 10,
                    "when": {
                        "attributes": [{"attr": "department", "op": "eq", "value": "Clinical"}]
                    },
                    "grant": {"tier": f"pro-{s}"},
                },
            ],
        },
    )

    def me() -> dict[str, Any]:
        r = d.me(token)
        assert r.status_code == 200, r.text
        return dict(r.json())

    await until(lambda: f"viewer-{s}" in me()["roles"], 5)
    async with d.scim_at_b(person) as scim:
        r = await scim.post(
            "/Groups",
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": f"Nurses-{s}",
                "members": [{"value": person.user_id}],
            },
        )
        assert r.status_code == 201, r.text
        _, took = await until(lambda: f"clinician-{s}" in me()["roles"], 5)
        assert took < 1.5 and me()["source"] == "view"
        r = await scim.patch(
            f"/Users/{person.user_id}",
            json=patch({"op": "replace", "path": f"{ENTERPRISE}:department", "value": "Clinical"}),
        )
        assert r.status_code == 200, r.text
        _, took = await until(lambda: me()["tier"] == f"pro-{s}", 5)
        assert took < 1.5


async def _restarted_platform_and_propylon_processes_do_not_resurrect_a_revoked_token(
    d: Deployment,
) -> None:
    person, token = await d.person()
    async with d.scim_at_b(person) as scim:
        r = await scim.patch(
            f"/Users/{person.user_id}", json=patch({"op": "replace", "value": {"active": False}})
        )
        assert r.status_code == 200, r.text
    await until(refused(d, token), 5)
    stop(d.procs["host"])
    d.start_host()  # replays the retained events; until fresh it introspects
    assert d.me(token).status_code == 401
    d.wait_fresh()
    assert d.me(token).json()["detail"] == "user_revoked"
    stop(d.procs["a"])
    d.start_propylon("a")
    d.wait_fresh()
    assert d.me(token).json()["detail"] == "user_revoked"


async def _without_redis_and_then_without_propylon_the_platform_fails_safe(d: Deployment) -> None:
    _, token = await d.person()
    assert d.me(token).status_code == 200
    d.redis.stop()
    try:
        # the platform never trusted Redis: its view is fed by the stream, which Propylon's
        # follower keeps reading from PostgreSQL (heartbeats go on)
        time.sleep(1.5)
        assert d.me(token).status_code == 200
        stop(d.procs["a"])  # Propylon gone: no heartbeats, no introspection
        reason, took = await until(refused(d, token), 10)
        assert reason == "unverifiable" and took < 6
    finally:
        d.redis.start()
        d.start_propylon("a")
    d.wait_fresh()
    assert d.me(token).status_code == 200


async def test_the_platform_follows_the_directory_across_processes_restarts_and_outages(
    deployment: Deployment,
) -> None:
    """One deployment (it costs two servers and a host process to start) for every scenario,
    in this order: each names the behaviour it pins and fails with its own message."""
    await _a_scim_deactivation_at_one_process_refuses_the_token_at_the_platform(deployment)
    await _a_group_or_department_change_reaches_the_platforms_roles_without_sign_in(deployment)
    await _restarted_platform_and_propylon_processes_do_not_resurrect_a_revoked_token(deployment)
    await _without_redis_and_then_without_propylon_the_platform_fails_safe(deployment)
