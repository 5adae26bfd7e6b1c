"""Benchmark: how long a directory change takes to reach the host platform, end to end.

Prints ONE JSON document on stdout (progress on stderr). Run::

    python3 bench/revocation_latency.py              # 200 trials of each
    python3 bench/revocation_latency.py --trials 20  # a smoke run

The deployment is the proof tests' (``tests/sdk/deployment.py``): PostgreSQL, a Redis of its
own, two ``propylon serve`` processes A and B, and a separate host-platform process using
``propylon.sdk`` (FastAPI dependency; its stream reads A). Every setting keeps its default.

- ``deactivation``: a signed-in person's access token is accepted by the platform
  (``GET /me`` 200); the IdP deactivates them by SCIM at B (``PATCH /Users/{id}`` active
  false); the clock starts when that response arrives and stops at the platform's first 401
  for the same token (polled every 2 ms on a keep-alive connection).
- ``group_change``: the tenant's rules make members of a group ``clinician``; the person is
  added to (then, next trial, removed from) the group by SCIM at B (``PATCH /Groups/{id}``);
  the clock stops when the platform's ``/me`` for the same token shows the new roles.

Target: p99 under 1 s for both. The database, Redis, processes and data are removed at the
end; processes are stopped by their pid; loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]
# the Propylon processes run this tree's code too (not an installed copy)
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
)

import httpx  # noqa: E402
from benchkit.measure import lat_summary, log  # noqa: E402

from propylon.admin import entitlements as ent  # noqa: E402
from propylon.admin.audited import CLI  # noqa: E402
from propylon.errors import AlreadyExists  # noqa: E402
from propylon.sessions import SessionDraft, create_session  # noqa: E402
from tests.conftest import Directory, new_directory  # noqa: E402
from tests.http.test_scim_users import user_body  # noqa: E402
from tests.provider.helpers import Person, code_flow  # noqa: E402
from tests.sdk.deployment import Deployment, patch  # noqa: E402

POLL = 0.002


def _log(msg: str) -> None:
    log(msg, name="revocation")


async def signed_in(d: Deployment, directory: Directory) -> tuple[Person, str]:
    """A new user of ``directory`` (SCIM at A), a session, and an access token from A."""
    assert d.server is not None and d.app is not None
    email = f"u-{secrets.token_hex(5)}@acme.test"
    async with directory.client() as scim:
        r = await scim.post("/Users", json=user_body(email))
        r.raise_for_status()
        user_id = r.json()["id"]
    now = d.server.rt.clock()
    draft = SessionDraft(
        directory.tenant_id, user_id, "saml", "conn_bench", email, "idx", now + timedelta(hours=1)
    )
    issued = await create_session(d.server.rt.sessions, d.server.rt.db, draft, now)
    person = Person(
        directory.tenant_id, directory.tenant_slug, user_id, email, directory.base_url,
        directory.token, issued.id, issued.handle,
    )  # fmt: skip
    tokens, _ = await code_flow(d.server, d.app, person)
    return person, tokens["access_token"]


async def wait_for(client: httpx.Client, token: str, done: Any, seconds: float = 10) -> float:
    """Seconds until ``done(response)`` holds for the platform's ``/me``."""
    start = time.perf_counter()
    headers = {"Authorization": f"Bearer {token}"}
    while True:
        r = client.get("/me", headers=headers)
        if done(r):
            return time.perf_counter() - start
        if time.perf_counter() - start > seconds:
            raise RuntimeError(f"not reached in {seconds} s: {r.status_code} {r.text}")
        await asyncio.sleep(POLL)


async def deactivations(d: Deployment, directory: Directory, trials: int) -> list[float]:
    ms: list[float] = []
    with httpx.Client(base_url=d.host, timeout=10) as host:
        async with httpx.AsyncClient(
            base_url=directory.base_url.replace(d.a, d.b),
            headers={"Authorization": f"Bearer {directory.token}"},
            timeout=30,
        ) as scim:
            for i in range(trials):
                person, token = await signed_in(d, directory)
                await wait_for(host, token, lambda r: r.status_code == 200)
                off = patch({"op": "replace", "value": {"active": False}})
                r = await scim.patch(f"/Users/{person.user_id}", json=off)
                r.raise_for_status()
                ms.append(1000 * await wait_for(host, token, lambda r: r.status_code == 401))
                if (i + 1) % 20 == 0:
                    _log(f"deactivation {i + 1}/{trials}: last {ms[-1]:.1f} ms")
    return ms


async def group_changes(d: Deployment, directory: Directory, trials: int) -> list[float]:
    assert d.server is not None
    s = secrets.token_hex(3)
    for kind, name in [("role", f"viewer-{s}"), ("role", f"clinician-{s}")]:
        with contextlib.suppress(AlreadyExists):
            await ent.catalog_add(d.server.rt, CLI, kind, name)
    rules = {
        "defaults": {"roles": [f"viewer-{s}"]},
        "rules": [{"name": "nurses", "priority": 1, "when": {"any_groups": [f"Nurses-{s}"]},
                   "grant": {"roles": [f"clinician-{s}"]}}],
    }  # fmt: skip
    await ent.rules_set(d.server.rt, CLI, directory.tenant_id, rules)
    role = f"clinician-{s}"
    ms: list[float] = []
    with httpx.Client(base_url=d.host, timeout=10) as host:
        async with httpx.AsyncClient(
            base_url=directory.base_url.replace(d.a, d.b),
            headers={"Authorization": f"Bearer {directory.token}"},
            timeout=30,
        ) as scim:
            group = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                     "displayName": f"Nurses-{s}"}  # fmt: skip
            r = await scim.post("/Groups", json=group)
            r.raise_for_status()
            group_id = r.json()["id"]
            person, token = await signed_in(d, directory)
            for i in range(trials):
                if i and i % 100 == 0:  # a fresh token well before the 300 s lifetime
                    person, token = await signed_in(d, directory)
                adding = (
                    role
                    not in host.get("/me", headers={"Authorization": f"Bearer {token}"}).json()[
                        "roles"
                    ]
                )
                member = [{"value": person.user_id}]
                op = (
                    {"op": "add", "path": "members", "value": member}
                    if adding
                    else {"op": "remove", "path": f'members[value eq "{person.user_id}"]'}
                )
                r = await scim.patch(f"/Groups/{group_id}", json=patch(op))
                r.raise_for_status()

                def reached(r: httpx.Response, adding: bool = adding) -> bool:
                    return r.status_code == 200 and (role in r.json()["roles"]) == adding

                ms.append(1000 * await wait_for(host, token, reached))
                if (i + 1) % 20 == 0:
                    _log(f"group change {i + 1}/{trials}: last {ms[-1]:.1f} ms")
    return ms


def summary(ms: list[float]) -> dict[str, Any]:
    out = lat_summary(ms)
    out["target_p99_ms"] = 1000
    out["ok"] = bool(ms) and out["p99_ms"] < 1000
    return out


async def run(trials: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="propylon-revocation-") as tmp:
        d = Deployment(Path(tmp))
        try:
            _log("starting PostgreSQL database, Redis, Propylon A and B, the platform")
            await d.start()
            d.wait_fresh()
            assert d.server is not None
            directory = await new_directory(d.server)
            dead = await deactivations(d, directory, trials)
            roles = await group_changes(d, directory, trials)
        finally:
            await d.close()
    return {
        "benchmark": "revocation_latency",
        "trials": trials,
        "deployment": "PostgreSQL + Redis, 2 Propylon processes (SCIM at B, stream from A), "
        "1 host-platform process (propylon.sdk); defaults",
        "poll_interval_ms": POLL * 1000,
        "deactivation": summary(dead),
        "group_change": summary(roles),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=200)
    args = ap.parse_args()
    print(json.dumps(asyncio.run(run(args.trials)), indent=2))


if __name__ == "__main__":
    main()
