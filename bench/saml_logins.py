"""Benchmark: complete SP-initiated SAML logins over HTTP on loopback, the embedded server
(SQLite, no Redis) and PostgreSQL + Redis measured in one run, interleaved.

Prints ONE JSON document on stdout (progress on stderr); exits 1 if any login failed. Run::

    python3 bench/saml_logins.py                # 4 rounds of 5 s per backend, 8 browsers
    python3 bench/saml_logins.py --quick        # 2 rounds of 2 s per backend
    python3 bench/saml_logins.py --backend sqlite   # one backend only
    python3 bench/saml_logins.py --workers 1    # PostgreSQL server workers (default 2)
    python3 bench/saml_logins.py --profile      # also py-spy the SQLite server

The issue's embedded-mode targets (``embedded_targets``): a login's server CPU on SQLite at
most 1.2x that on PostgreSQL + Redis, and the SQLite login p99 with 8 clients under 250 ms.

One login is what a browser, an IdP and a relying party do, in order:

1. browser ``GET /oauth2/authorize`` (login_hint) → 302 to the IdP with a deflated
   AuthnRequest;
2. IdP: inflates and parses the AuthnRequest, builds a Response to that very request ID and
   signs its Assertion (enveloped XML-DSig, exclusive c14n, RSA-SHA256, SHA-256 digest);
3. browser ``POST /saml/{id}/acs`` (SAMLResponse, RelayState) → 303 + ``propylon_session``,
   straight to the RP's redirect URI with the code and state;
4. relying party ``POST /oauth2/token`` (client_secret_basic) → 200 with an id_token;
5. relying party ``GET /oauth2/userinfo`` with the access token → 200 with the email.

Each login is a fresh browser: a new keep-alive connection for its two requests and an empty
cookie jar (connections that outlived a login would leave the server's workers loaded as
unevenly as they happened to accept them); each simulated client's RP keeps one connection.
The load generator is kept cheap so the figure measures Propylon, not the benchmark: a minimal
asyncio HTTP/1.1 client (the approach of ``scim_bench.py``) and an IdP that precomputes
everything not depending on the request (key, certificate, the canonical XML around the
per-login values) and per login only fills in the values, hashes the exclusive-c14n
Assertion, and signs the exclusive-c14n SignedInfo with ``cryptography``. At start-up one such
Response is verified with xmlsec (libxmlsec1, an independent XML-DSig implementation); during
the run the server must accept every login.

Each Propylon server subprocess has its own data directory (the SQLite file), or its own
PostgreSQL database and Redis key prefix; all are removed at the end and the servers are
stopped by their pids. Loopback only.

The parts live next to this script: ``benchkit/`` (shared by every benchmark: HTTP client,
logging, /proc readings, PostgreSQL) and ``loginbench/`` (the IdP, the CPU accounting, the
login flow and the benchmark around it, the ``--profile`` run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from loginbench.flow import Bench, RunStats, log  # noqa: E402
from loginbench.profile import profile_run  # noqa: E402

TARGET_LOGINS_PER_S = 200
TARGET_CPU_RATIO = 1.2  # SQLite server CPU per login / PostgreSQL + Redis server CPU per login
TARGET_SQLITE_P99_MS = 250.0  # SQLite login p99 with 8 concurrent clients


async def measure_interleaved(
    benches: dict[str, Bench], rounds: int, seconds: float, clients: int
) -> dict[str, dict[str, Any]]:
    """``rounds`` rounds of ``seconds`` per backend, the order alternating each round, so drift
    of a shared machine falls on both alike; each backend's figures summed over its rounds."""
    meters = {name: b.meter() for name, b in benches.items()}
    stats = {name: RunStats() for name in benches}
    sign0 = {name: b.idp.sign_s for name, b in benches.items()}
    for r in range(rounds):
        order = list(benches) if r % 2 == 0 else list(reversed(benches))
        for name in order:
            log(f"round {r + 1}/{rounds}: {name}, {seconds} s, {clients} clients")
            meters[name].start()
            await benches[name].run(seconds, clients, stats[name])
            meters[name].stop()
    return {
        name: benches[name].report(meters[name], stats[name], sign0[name], clients)
        for name in benches
    }


def comparison(res: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The issue's embedded-mode targets, from figures of the same run."""
    lite, pg = res["sqlite"], res["postgres"]
    lite_cpu = lite["cpu"]["server_cpu_ms_per_login"]
    pg_cpu = pg["cpu"]["server_cpu_ms_per_login"]
    ratio = round(lite_cpu / pg_cpu, 3) if pg_cpu else None
    p99 = lite["login_ms"]["p99"]
    return {
        "sqlite_over_postgres_server_cpu": ratio,
        "target_sqlite_over_postgres_server_cpu_max": TARGET_CPU_RATIO,
        "sqlite_login_p99_ms": p99,
        "target_sqlite_login_p99_ms_below": TARGET_SQLITE_P99_MS,
        "targets_met": {
            "cpu_ratio": ratio is not None and ratio <= TARGET_CPU_RATIO,
            "sqlite_p99": bool(lite["logins"]) and p99 < TARGET_SQLITE_P99_MS,
        },
        "per_backend": {
            name: {
                "logins_per_s": r["logins_per_s"],
                "server_cpu_ms_per_login": r["cpu"]["server_cpu_ms_per_login"],
                "server_cpu_user_ms_per_login": r["cpu"]["server_cpu_user_ms_per_login"],
                "server_cpu_sys_ms_per_login": r["cpu"]["server_cpu_sys_ms_per_login"],
                "server_cpu_kernel_share": r["cpu"]["server_cpu_kernel_share"],
                "login_ms_p50": r["login_ms"]["p50"],
                "login_ms_p99": r["login_ms"]["p99"],
                "errors": r["errors"],
            }
            for name, r in res.items()
        },
    }


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    names = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    benches = {
        name: Bench(args, name, args.sqlite_workers if name == "sqlite" else args.workers)
        for name in names
    }
    try:
        for b in benches.values():
            log(f"starting {b.backend} server on {b.url} ({b.workers} workers)")
            b.start()
            await b.setup()
        log("IdP self-check passed (xmlsec verifies the Response); warm-up")
        warm = {}
        for name, b in benches.items():
            warm[name] = sum((await b.run(2 if args.quick else 3, args.clients)).errors.values())
        rounds = 2 if args.quick else args.rounds
        seconds = 2.0 if args.quick else args.duration / rounds
        res = await measure_interleaved(benches, rounds, seconds, args.clients)
        for name, r in res.items():
            r["backend"] = "sqlite (embedded, no Redis)" if name == "sqlite" else "postgresql+redis"
            r["server_workers"] = benches[name].workers
            r["warmup_errors"] = warm[name]
            r["target_logins_per_s"] = TARGET_LOGINS_PER_S
            r["target_met"] = r["logins_per_s"] >= TARGET_LOGINS_PER_S
        result: dict[str, Any] = {
            "benchmark": "saml_sp_initiated_logins",
            "client": "asyncio HTTP/1.1: a connection per login (browser), one per client (RP)",
            "idp_signature": "enveloped, exc-c14n, RSA-2048 PKCS#1 v1.5 SHA-256, SHA-256 digest",
            "cpus": os.cpu_count(),
            "interleaved_rounds": rounds,
            "seconds_per_round_per_backend": seconds,
            **({"embedded_targets": comparison(res)} if len(res) == 2 else {}),
            "backends": res,
        }
        if args.profile:
            bench = benches.get(args.profile)
            if bench is None:
                result["profile"] = {"skipped": f"{args.profile} not measured in this run"}
            elif not shutil.which("py-spy"):
                result["profile"] = {"skipped": "py-spy not installed"}
            else:
                result["profile"] = {"backend": args.profile, **await profile_run(bench, args)}
        return result
    finally:
        for b in benches.values():
            b.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 rounds of 2 s per backend")
    ap.add_argument(
        "--duration", type=float, default=20.0, help="measured seconds per backend (all rounds)"
    )
    ap.add_argument("--rounds", type=int, default=4, help="interleaved rounds per backend")
    ap.add_argument("--clients", type=int, default=8, help="concurrent simulated browsers")
    ap.add_argument(
        "--backend", choices=("both", "sqlite", "postgres"), default="both", help="servers measured"
    )
    ap.add_argument(
        "--workers", type=int, default=2, help="PostgreSQL + Redis server worker processes"
    )
    ap.add_argument(
        "--sqlite-workers", type=int, default=1, help="embedded server worker processes"
    )
    ap.add_argument(
        "--profile",
        nargs="?",
        const="sqlite",
        choices=("sqlite", "postgres"),
        help="py-spy that backend's server afterwards (default sqlite)",
    )
    args = ap.parse_args()
    result = asyncio.run(amain(args))
    print(json.dumps(result, indent=2))
    failed = sum(
        r["errors"] + r["warmup_errors"] for r in result["backends"].values()
    ) + result.get("profile", {}).get("errors_under_profiler", 0)
    if failed or not all(r["logins"] for r in result["backends"].values()):
        kinds = {name: r["error_kinds"] for name, r in result["backends"].items()}
        log(f"FAILED: {failed} failed logins: {kinds}")
        sys.exit(1)


if __name__ == "__main__":
    main()
