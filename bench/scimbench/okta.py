"""(a) okta_500: the Okta-style push of a 500-user organisation, against Propylon and the
``scim2-server`` peer."""

from __future__ import annotations

import functools
import secrets
import statistics
import subprocess
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

from benchkit.http import HttpxClient, RawClient, Resp
from benchkit.infra import stop
from benchkit.measure import CpuMeter, lat_summary, log

from scimbench.bodies import add_members_op, eq_filter, okta_group, okta_user
from scimbench.servers import Propylon, scim_base, start_floor, start_peer


async def okta_sequence(
    client: RawClient | HttpxClient,
    tag: str,
    server_pid: int | None,
    n_users: int = 500,
    n_groups: int = 10,
) -> dict[str, Any]:
    """The Okta 500-user push; returns timings and a status histogram (asserts the protocol)."""
    statuses: Counter[str] = Counter()
    bad: list[str] = []
    per_kind: dict[str, list[float]] = defaultdict(list)

    async def call(kind: str, method: str, path: str, body: Any, ok: tuple[int, ...]) -> Resp:
        t0 = time.perf_counter()
        r = await client.request(method, path, body)
        per_kind[kind].append((time.perf_counter() - t0) * 1000)
        statuses[f"{kind}:{r.status}"] += 1
        if r.status not in ok and len(bad) < 5:
            bad.append(f"{kind} {r.status} {r.body[:200]!r}")
        return r

    users: list[tuple[str, str]] = []
    meter = CpuMeter(server_pid).__enter__()
    t0 = time.perf_counter()
    for i in range(n_users):
        name = f"{tag}.user{i}@bench.example.com"
        r = await call(
            "filter_user",
            "GET",
            f"/Users?filter={eq_filter('userName', name)}&startIndex=1&count=100",
            None,
            (200,),
        )
        if r.status == 200 and r.json().get("totalResults") != 0:
            bad.append(f"filter for new user {name} not empty")
        r = await call("post_user", "POST", "/Users", okta_user(name, i), (201,))
        if r.status == 201:
            users.append((r.json()["id"], name))
    per = max(1, len(users) // n_groups)
    for g in range(n_groups):
        gname = f"{tag} Group {g}"
        await call(
            "filter_group",
            "GET",
            f"/Groups?filter={eq_filter('displayName', gname)}",
            None,
            (200,),
        )
        r = await call("post_group", "POST", "/Groups", okta_group(gname), (201,))
        if r.status != 201:
            continue
        gid = r.json()["id"]
        await call(
            "patch_group",
            "PATCH",
            f"/Groups/{gid}",
            add_members_op(users[g * per : (g + 1) * per]),
            (200, 204),
        )
    seconds = time.perf_counter() - t0
    meter.__exit__()
    n = sum(statuses.values())
    return {
        "seconds": round(seconds, 3),
        "requests": n,
        "req_per_s": round(n / seconds, 1),
        **meter.report(n),
        "client_cpu_share": round(meter.client_cpu / seconds, 3),
        "connections_opened": client.connects,
        "statuses": dict(sorted(statuses.items())),
        "errors": bad,
        "per_request_ms": {k: lat_summary(v) for k, v in per_kind.items()},
    }


async def run_okta_propylon(
    p: Propylon, server_url: str, server_pid: int, repeats: int, client_kind: str = "raw"
) -> list[dict[str, Any]]:
    results = []
    for r in range(repeats):
        d = await p.new_directory("okta")
        base = scim_base(server_url, d["directory_id"])
        client: RawClient | HttpxClient = (
            RawClient(base, d["token"]) if client_kind == "raw" else HttpxClient(base, d["token"])
        )
        # warm the connection, the route and the token cache path with one discovery + one list
        await client.request("GET", "/Users?count=1")
        try:
            res = await okta_sequence(client, f"okta{r}-{secrets.token_hex(3)}", server_pid)
        finally:
            await client.close()
        log(
            f"okta_500 propylon ({client_kind}) run {r + 1}/{repeats}: {res['seconds']} s, "
            f"{res['req_per_s']} req/s, errors={len(res['errors'])}"
        )
        results.append(res)
    return results


def summarize_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    secs = [r["seconds"] for r in runs]
    return {
        "runs": len(runs),
        "seconds_best": min(secs),
        "seconds_median": round(statistics.median(secs), 3),
        "seconds_all": secs,
        "requests": runs[0]["requests"],
        "req_per_s_median": round(runs[0]["requests"] / statistics.median(secs), 1),
        "client_cpu_share_median": round(statistics.median(r["client_cpu_share"] for r in runs), 3),
        "server_cpu_ms_per_request_median": round(
            statistics.median(r["server_cpu_ms_per_request"] for r in runs), 3
        ),
        "client_cpu_ms_per_request_median": round(
            statistics.median(r["client_cpu_ms_per_request"] for r in runs), 3
        ),
        "machine_busy_share_median": round(
            statistics.median(r["machine_busy_share_all_cores"] for r in runs), 3
        ),
        "errors": sum(len(r["errors"]) for r in runs),
        "first_errors": [e for r in runs for e in r["errors"]][:5],
        "statuses_last_run": runs[-1]["statuses"],
        "per_request_ms_last_run": runs[-1]["per_request_ms"],
    }


async def run_okta_fresh(
    label: str, start: Callable[[str], tuple[str, subprocess.Popen[bytes]]]
) -> dict[str, Any]:
    """One run against a server started for it by ``start(token)`` (the peer: a fresh
    in-memory store; the stack floor: fresh tables) and stopped after it."""
    token = secrets.token_urlsafe(24)
    url, proc = start(token)
    try:
        client = RawClient(url, token)
        await client.request("GET", "/Users?filter=" + eq_filter("userName", "warm"))
        res = await okta_sequence(client, f"fresh-{secrets.token_hex(3)}", proc.pid)
        await client.close()
    finally:
        stop(proc)
    errors = len(res["errors"])
    log(f"okta_500 {label}: {res['seconds']} s, {res['req_per_s']} req/s, errors={errors}")
    return res


async def run_okta_interleaved(
    p: Propylon, server_url: str, server_pid: int, dsn: str, repeats: int
) -> dict[str, list[dict[str, Any]]]:
    """``repeats`` rounds of: Propylon (1 worker), the stack floor (``stack_floor.py``) on
    SQLAlchemy, the same floor on asyncpg directly, the peer; one run each per round."""
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for _ in range(repeats):
        rows["propylon_workers1"] += await run_okta_propylon(p, server_url, server_pid, 1)
        for driver in ("sqlalchemy", "asyncpg"):
            rows[f"stack_floor_{driver}"].append(
                await run_okta_fresh(
                    f"stack floor ({driver})", functools.partial(start_floor, dsn, driver=driver)
                )
            )
        rows["peer_scim2_server"].append(await run_okta_fresh("scim2-server", start_peer))
    return dict(rows)
