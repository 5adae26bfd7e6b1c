"""Benchmark: complete SP-initiated SAML logins per second, over HTTP on loopback, on
PostgreSQL + Redis.

Prints ONE JSON document on stdout (progress on stderr); exits 1 if any login failed. Run::

    python3 bench/saml_logins.py                # 20 s, 12 simulated browsers, 2 workers
    python3 bench/saml_logins.py --quick        # 3 s smoke run
    python3 bench/saml_logins.py --workers 1    # server worker processes (default 2)
    python3 bench/saml_logins.py --profile      # also py-spy the server workers

One login is what a browser, an IdP and a relying party do, in order:

1. browser ``GET /oauth2/authorize`` (login_hint) → 302 to the IdP with a deflated
   AuthnRequest;
2. IdP: inflates and parses the AuthnRequest, builds a Response to that very request ID and
   signs its Assertion (enveloped XML-DSig, exclusive c14n, RSA-SHA256, SHA-256 digest);
3. browser ``POST /saml/{id}/acs`` (SAMLResponse, RelayState) → 303 + ``propylon_session``,
   straight to the RP's redirect URI with the code and state;
4. relying party ``POST /oauth2/token`` (client_secret_basic) → 200 with an id_token.

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

A Propylon server subprocess is started with its own PostgreSQL database and Redis key
prefix; both are removed at the end and the server is stopped by its pid. Loopback only.

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

from loginbench.flow import Bench, log  # noqa: E402
from loginbench.profile import profile_run  # noqa: E402

TARGET_LOGINS_PER_S = 200


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    bench = Bench(args)
    try:
        log(f"starting server on {bench.url} ({args.workers} workers), db {bench.db}")
        bench.start()
        await bench.setup()
        log("IdP self-check passed (xmlsec verifies the Response); warm-up")
        warm = await bench.run(2 if args.quick else 3, args.clients)
        duration = 3.0 if args.quick else args.duration
        log(f"measuring {duration} s with {args.clients} clients")
        result: dict[str, Any] = {
            "benchmark": "saml_sp_initiated_logins",
            "backend": "postgresql+redis",
            "client": "asyncio HTTP/1.1: a connection per login (browser), one per client (RP)",
            "idp_signature": "enveloped, exc-c14n, RSA-2048 PKCS#1 v1.5 SHA-256, SHA-256 digest",
            "server_workers": args.workers,
            "cpus": os.cpu_count(),
            "target_logins_per_s": TARGET_LOGINS_PER_S,
            "warmup_errors": sum(warm.errors.values()),
            **await bench.measure(duration, args.clients),
        }
        result["target_met"] = result["logins_per_s"] >= TARGET_LOGINS_PER_S
        if args.profile:
            assert bench.proc is not None
            if not shutil.which("py-spy"):
                result["profile"] = {"skipped": "py-spy not installed"}
            else:
                result["profile"] = await profile_run(bench, args)
        return result
    finally:
        bench.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="3 s smoke run")
    ap.add_argument("--duration", type=float, default=20.0, help="measured seconds")
    ap.add_argument("--clients", type=int, default=12, help="concurrent simulated browsers")
    ap.add_argument("--workers", type=int, default=2, help="server worker processes")
    ap.add_argument("--profile", action="store_true", help="py-spy the server workers")
    args = ap.parse_args()
    result = asyncio.run(amain(args))
    print(json.dumps(result, indent=2))
    failed = (
        result["errors"]
        + result["warmup_errors"]
        + result.get("profile", {}).get("errors_under_profiler", 0)
    )
    if failed or not result["logins"]:
        log(f"FAILED: {failed} failed logins, {result['logins']} ok: {result['error_kinds']}")
        sys.exit(1)


if __name__ == "__main__":
    main()
