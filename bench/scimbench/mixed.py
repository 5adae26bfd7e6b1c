"""(c) mixed: concurrent keep-alive clients of mixed SCIM traffic, then a check that no user
that got a 201 is lost and no userName exists twice."""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from benchkit.http import HttpError, RawClient
from benchkit.infra import RUN_ID
from benchkit.measure import CpuMeter, lat_summary, log

from scimbench.bodies import PATCH_OP, add_members_op, eq_filter, okta_group, okta_user
from scimbench.servers import Propylon, scim_base, seed_users

MIX = [  # (operation, weight)
    ("get_user", 40),
    ("filter_user", 20),
    ("post_user", 15),
    ("patch_user", 15),
    ("patch_group", 5),
    ("list_page", 5),
]


@dataclass
class MixState:
    users: list[tuple[str, str]]  # (id, userName) of every user known to exist
    groups: list[str]
    created: dict[str, str] = field(default_factory=dict)  # userName -> id (201s)
    created_twice: list[str] = field(default_factory=list)
    contested_pool: list[str] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    lat: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    all_ms: list[float] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    transport_errors: int = 0


async def mixed_client(
    cid: int, base: str, token: str, st: MixState, deadline: float, rng: random.Random
) -> None:
    client = RawClient(base, token)
    ops, weights = zip(*MIX, strict=True)
    n = 0
    try:
        while time.perf_counter() < deadline:
            op = rng.choices(ops, weights)[0]
            ok: tuple[int, ...] = (200,)
            body: Any = None
            method, path = "GET", ""
            if op == "get_user":
                path = f"/Users/{rng.choice(st.users)[0]}"
            elif op == "filter_user":
                name = rng.choice(st.users)[1]
                path = f"/Users?filter={eq_filter('userName', name)}"
            elif op == "post_user":
                n += 1
                if rng.random() < 0.1:  # a userName other clients also try: one 201, rest 409
                    name = rng.choice(st.contested_pool)
                    ok = (201, 409)
                else:
                    name = f"mixed{cid}.{n}.{secrets.token_hex(3)}@bench.example.com"
                    ok = (201,)
                method, path, body = "POST", "/Users", okta_user(name, n)
            elif op == "patch_user":
                uid = rng.choice(st.users)[0]
                kind = rng.random()
                if kind < 0.6:
                    value: dict[str, Any] = {
                        "displayName": f"Renamed {rng.randrange(10**6)}",
                        "title": rng.choice(["Engineer", "Manager", "Analyst", "Director"]),
                    }
                else:  # Okta deactivate / reactivate
                    value = {"active": kind >= 0.8}
                method, path = "PATCH", f"/Users/{uid}"
                body = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": value}]}
            elif op == "patch_group":
                gid = rng.choice(st.groups)
                uid = rng.choice(st.users)[0]
                if rng.random() < 0.5:
                    ops_ = [{"op": "add", "path": "members", "value": [{"value": uid}]}]
                else:
                    ops_ = [{"op": "remove", "path": f'members[value eq "{uid}"]'}]
                method, path, body = (
                    "PATCH",
                    f"/Groups/{gid}",
                    {"schemas": [PATCH_OP], "Operations": ops_},
                )
                ok = (200, 204)
            else:  # list_page
                start = rng.randrange(1, max(2, len(st.users) - 50))
                path = f"/Users?startIndex={start}&count=50"
            t0 = time.perf_counter()
            try:
                r = await client.request(method, path, body)
            except (HttpError, TimeoutError, OSError) as exc:
                st.transport_errors += 1
                if len(st.unexpected) < 10:
                    st.unexpected.append(f"{op}: transport {exc!r}")
                await client.close()
                continue
            ms = (time.perf_counter() - t0) * 1000
            st.all_ms.append(ms)
            st.lat[op].append(ms)
            st.statuses[f"{op}:{r.status}"] += 1
            if r.status not in ok and len(st.unexpected) < 10:
                st.unexpected.append(f"{op} {r.status} {r.body[:300]!r}")
            if op == "post_user" and r.status == 201:
                uid = r.json()["id"]
                if body["userName"] in st.created:
                    st.created_twice.append(body["userName"])
                st.created[body["userName"]] = uid
                st.users.append((uid, body["userName"]))
    finally:
        await client.close()


async def run_mixed(
    p: Propylon,
    server_url: str,
    server_pid: int,
    seed_n: int,
    clients: int,
    seconds: float,
    label: str,
) -> dict[str, Any]:
    d = await p.new_directory(f"mixed{label}")
    base = scim_base(server_url, d["directory_id"])
    users, secs = await seed_users(p.infra, d["tenant_id"], d["directory_id"], 0, seed_n, "mix")
    log(f"mixed[{label}]: seeded {seed_n} users in {secs:.1f} s")
    setup = RawClient(base, d["token"])
    groups = []
    for g in range(20):
        r = await setup.request("POST", "/Groups", okta_group(f"Mixed Group {g}"))
        assert r.status == 201, r.body
        gid = r.json()["id"]
        groups.append(gid)
        await setup.request("PATCH", f"/Groups/{gid}", add_members_op(users[g * 25 : (g + 1) * 25]))
    await setup.close()
    st = MixState(
        users=list(users),
        groups=groups,
        contested_pool=[f"contested{i}.{RUN_ID}@bench.example.com" for i in range(100)],
    )
    log(f"mixed[{label}]: {clients} clients for {seconds} s")
    t0 = time.perf_counter()
    deadline = t0 + seconds
    with CpuMeter(server_pid) as meter:
        await asyncio.gather(
            *(
                mixed_client(c, base, d["token"], st, deadline, random.Random(1000 + c))
                for c in range(clients)
            )
        )
    elapsed = time.perf_counter() - t0
    total = sum(st.statuses.values())
    five = sum(v for k, v in st.statuses.items() if k.rsplit(":", 1)[1].startswith("5"))
    log(
        f"mixed[{label}]: {total} requests in {elapsed:.1f} s = {total / elapsed:.0f} req/s, "
        f"5xx={five}; verifying"
    )
    verification = await verify_mixed(p, base, d, st, seed_n)
    return {
        "clients": clients,
        "seconds": round(elapsed, 2),
        "seeded_users": seed_n,
        "groups": len(groups),
        "requests": total,
        "req_per_s": round(total / elapsed, 1),
        "latency_all": lat_summary(st.all_ms),
        "latency_by_op": {k: lat_summary(v) for k, v in sorted(st.lat.items())},
        "statuses": dict(sorted(st.statuses.items())),
        "status_5xx": five,
        "transport_errors": st.transport_errors,
        "unexpected_responses": st.unexpected,
        "client_cpu_share_of_one_core": round(meter.client_cpu / elapsed, 3),
        "cpu": meter.report(total),
        "verification": verification,
    }


async def verify_mixed(
    p: Propylon, base: str, d: dict[str, str], st: MixState, seed_n: int
) -> dict[str, Any]:
    import asyncpg

    created = list(st.created.items())
    lost: list[str] = []
    mismatched: list[str] = []

    async def check(chunk: list[tuple[str, str]]) -> None:
        c = RawClient(base, d["token"])
        try:
            for name, uid in chunk:
                r = await c.request("GET", f"/Users/{uid}")
                if r.status != 200:
                    lost.append(f"{name}: GET {r.status}")
                    continue
                if r.json().get("userName") != name:
                    mismatched.append(name)
                r = await c.request("GET", f"/Users?filter={eq_filter('userName', name)}")
                if r.status != 200 or r.json().get("totalResults") != 1:
                    mismatched.append(f"{name}: filter {r.status} {r.body[:120]!r}")
        finally:
            await c.close()

    k = 8
    await asyncio.gather(*(check(created[i::k]) for i in range(k)))
    conn = await asyncpg.connect(p.infra.pg_dsn)
    try:
        dups = await conn.fetch(
            "SELECT user_name_ci, count(*) AS n FROM users WHERE tenant_id = $1 "
            "AND deleted_at IS NULL GROUP BY user_name_ci HAVING count(*) > 1 LIMIT 20",
            d["tenant_id"],
        )
        live = await conn.fetchval(
            "SELECT count(*) FROM users WHERE directory_id = $1 AND deleted_at IS NULL",
            d["directory_id"],
        )
    finally:
        await conn.close()
    contested_201 = sum(1 for n in st.created if n.startswith("contested"))
    return {
        "users_created_201": len(created),
        "contested_usernames_created": contested_201,
        "lost": len(lost),
        "lost_examples": lost[:5],
        "mismatched_or_filter_not_exactly_one": len(mismatched),
        "mismatched_examples": mismatched[:5],
        "username_201_twice": len(st.created_twice),
        "db_duplicate_usernames": len(dups),
        "db_live_users": int(live),
        "db_live_users_expected": seed_n + len(created),
        "ok": not lost
        and not mismatched
        and not st.created_twice
        and not dups
        and int(live) == seed_n + len(created),
    }
