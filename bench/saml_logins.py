"""Benchmark: complete SP-initiated SAML logins per second, over HTTP on loopback, on
PostgreSQL + Redis.

Prints ONE JSON document on stdout (progress on stderr). Run::

    python3 bench/saml_logins.py             # 20 s, 12 clients
    python3 bench/saml_logins.py --quick     # 3 s smoke run
    python3 bench/saml_logins.py --profile   # also py-spy the server workers (top self frames)

One login = ``GET /oauth2/authorize`` (login_hint) → ``GET /saml/{id}/login`` (AuthnRequest) →
the benchmark builds and signs (RSA-SHA256, xmlsec, pre-generated key) the IdP's Response to
that very AuthnRequest → ``POST /saml/{id}/acs`` → ``GET /oauth2/authorize`` (code) →
``POST /oauth2/token``. Each login is a fresh browser (no cookies). The IdP's signing cost is
measured and reported separately (``idp_sign_ms``); it runs in the benchmark process.

A Propylon server subprocess is started with its own PostgreSQL database and Redis key
prefix; both are removed at the end and the server is stopped by its pid.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from propylon.provider import apps  # noqa: E402
from propylon.runtime import build_runtime  # noqa: E402
from propylon.settings import Settings  # noqa: E402
from propylon.tenants import operations as ops  # noqa: E402
from propylon.tenants import operations_saml  # noqa: E402
from propylon.tenants.saml_connections import IdpSource  # noqa: E402
from tests.saml.idp import Spec, build, make_keypair  # noqa: E402

PG_ADMIN = os.environ.get("PROPYLON_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_BASE = PG_ADMIN.rsplit("/", 1)[0]
REDIS_URL = os.environ.get("PROPYLON_TEST_REDIS", "redis://127.0.0.1:6379/0")
IDP = "http://www.okta.com/exk-bench"
SSO = "https://bench.okta.test/app/sso/saml"
REDIRECT = "https://rp.example.com/callback"
USERS = 200


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def psql(sql: str) -> None:
    subprocess.run(["psql", PG_ADMIN, "-q", "-c", sql], check=True, capture_output=True)


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return 0.0
    s = sorted(xs)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.db = f"propylon_bench_{secrets.token_hex(4)}"
        self.prefix = f"propylon-bench-{secrets.token_hex(4)}:"
        self.tmp = tempfile.mkdtemp(prefix="propylon-bench-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            "PROPYLON_DATABASE_URL": f"postgresql+asyncpg://{PG_BASE.split('://', 1)[1]}/{self.db}",
            "PROPYLON_REDIS_URL": REDIS_URL,
            "PROPYLON_REDIS_PREFIX": self.prefix,
            "PROPYLON_PUBLIC_URL": self.url,
            "PROPYLON_DATA_DIR": self.tmp,
            "PROPYLON_LOG_LEVEL": "warning",
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.idp = make_keypair("bench-idp")
        self.sign_ms: list[float] = []

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        psql(f'CREATE DATABASE "{self.db}"')
        cmd = [
            sys.executable,
            "-m",
            "propylon.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.args.workers),
        ]
        self.proc = subprocess.Popen(
            cmd,
            env={**os.environ, **self.env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        try:
            psql(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
        except subprocess.CalledProcessError as exc:
            log(f"could not drop {self.db}: {exc}")
        keys = subprocess.run(
            ["redis-cli", "--scan", "--pattern", f"{self.prefix}*"],
            capture_output=True,
            text=True,
        ).stdout.split()
        for i in range(0, len(keys), 500):
            subprocess.run(["redis-cli", "DEL", *keys[i : i + 500]], capture_output=True)

    async def setup(self) -> None:
        settings = Settings(**{k.removeprefix("PROPYLON_").lower(): v for k, v in self.env.items()})
        rt = build_runtime(settings)
        try:
            slug = "bench"
            self.domain = "bench.example.com"
            await ops.create_tenant(
                rt, ops.CLI, slug=slug, name="Bench", domains=[self.domain], seats=None
            )
            d = await ops.create_directory(rt, ops.CLI, slug)
            self.conn = await operations_saml.create_connection(
                rt,
                ops.CLI,
                slug,
                IdpSource(sso_url=SSO, idp_entity_id=IDP, certificates=(self.idp.cert,)),
            )
            app = await apps.create_app(
                rt,
                ops.CLI,
                name="bench-rp",
                redirect_uris=[REDIRECT],
                post_logout_redirect_uris=[],
                public=False,
            )
            self.client_id, self.client_secret = app["client_id"], app["client_secret"]
        finally:
            await rt.close()
        self.emails = [f"user{i}@{self.domain}" for i in range(USERS)]
        async with httpx.AsyncClient(
            base_url=d["base_url"], headers={"Authorization": f"Bearer {d['token']}"}, timeout=30
        ) as scim:
            for email in self.emails:
                r = await scim.post(
                    "/Users",
                    json={
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                        "userName": email,
                        "active": True,
                        "emails": [{"value": email, "primary": True}],
                        "name": {"givenName": "B", "familyName": "Ench"},
                    },
                )
                assert r.status_code == 201, r.text

    # --- one login -----------------------------------------------------------------------
    def sign_response(self, request_id: str, email: str) -> str:
        t0 = time.perf_counter()
        acs = self.conn["acs_url"]
        spec = Spec(
            now=dt.datetime.now(dt.UTC),
            issuer=IDP,
            destination=acs,
            recipient=acs,
            audience=self.conn["sp_entity_id"],
            in_response_to=request_id,
            name_id=email,
            attributes={"email": [email]},
            assertion_id="id" + secrets.token_hex(16),
            response_id="id" + secrets.token_hex(16),
        )
        out = base64.b64encode(build(spec, idp=self.idp, sign_assertion=True)).decode()
        self.sign_ms.append((time.perf_counter() - t0) * 1000)
        return out

    async def login(self, c: httpx.AsyncClient, email: str) -> None:
        c.cookies.clear()
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": REDIRECT,
            "scope": "openid email",
            "state": "s",
            "nonce": "n",
            "login_hint": email,
        }
        r = await c.get("/oauth2/authorize", params=params)
        if r.status_code != 302:
            raise RuntimeError(f"authorize {r.status_code}")
        r = await c.get(r.headers["location"])
        if r.status_code != 302 or not r.headers["location"].startswith(SSO):
            raise RuntimeError(f"saml login {r.status_code}")
        q = parse_qs(urlsplit(r.headers["location"]).query)
        xml = zlib.decompress(base64.b64decode(q["SAMLRequest"][0]), -15)
        request_id = etree.fromstring(xml).get("ID") or ""
        saml = self.sign_response(request_id, email)
        r = await c.post(
            self.acs_path, data={"SAMLResponse": saml, "RelayState": q["RelayState"][0]}
        )
        if r.status_code != 303:
            raise RuntimeError(f"acs {r.status_code}")
        r = await c.get(r.headers["location"])
        if r.status_code != 302 or not r.headers["location"].startswith(REDIRECT):
            raise RuntimeError(f"authorize-2 {r.status_code}")
        code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
        r = await c.post(
            "/oauth2/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
            auth=(self.client_id, self.client_secret),
        )
        if r.status_code != 200 or "id_token" not in r.json():
            raise RuntimeError(f"token {r.status_code}")

    async def run(self, duration: float, clients: int) -> dict[str, Any]:
        self.acs_path = urlsplit(self.conn["acs_url"]).path
        latencies: list[float] = []
        errors: Counter[str] = Counter()
        stop_at = time.monotonic() + duration

        async def client(n: int) -> None:
            async with httpx.AsyncClient(base_url=self.url, timeout=30) as c:
                i = n
                while time.monotonic() < stop_at:
                    email = self.emails[i % len(self.emails)]
                    i += clients
                    t0 = time.perf_counter()
                    try:
                        await self.login(c, email)
                    except (RuntimeError, httpx.HTTPError, KeyError) as exc:
                        errors[str(exc)[:60] or type(exc).__name__] += 1
                        continue
                    latencies.append((time.perf_counter() - t0) * 1000)

        self.sign_ms.clear()
        cpu0, t0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(client(n) for n in range(clients)))
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        return {
            "duration_s": round(wall, 2),
            "clients": clients,
            "logins": len(latencies),
            "logins_per_s": round(len(latencies) / wall, 1),
            "login_ms": {
                "p50": round(pct(latencies, 50), 1),
                "p99": round(pct(latencies, 99), 1),
                "mean": round(statistics.fmean(latencies), 1) if latencies else 0,
            },
            "errors": sum(errors.values()),
            "error_kinds": dict(errors),
            "idp_sign_ms": {
                "p50": round(pct(self.sign_ms, 50), 2),
                "mean": round(statistics.fmean(self.sign_ms), 2) if self.sign_ms else 0,
                "share_of_bench_cpu": round(sum(self.sign_ms) / 1000 / cpu, 2) if cpu else 0,
            },
            "bench_process_cpu_s": round(cpu, 2),
        }


def worker_pids(parent: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True).stdout
    kids = [int(p) for p in out.split()]
    return kids or [parent]


def profile(pids: list[int], seconds: int, path: Path) -> dict[str, Any]:
    """py-spy each worker in raw (collapsed) format; the hottest self frames overall."""
    procs = []
    for pid in pids:
        out = path.with_name(f"{path.stem}-{pid}.txt")
        procs.append(
            (
                out,
                subprocess.Popen(
                    [
                        "py-spy",
                        "record",
                        "--pid",
                        str(pid),
                        "--duration",
                        str(seconds),
                        "--format",
                        "raw",
                        "--output",
                        str(out),
                        "--nonblocking",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                ),
            )
        )
    self_counts: Counter[str] = Counter()
    total_counts: Counter[str] = Counter()
    samples = 0
    for out, p in procs:
        p.wait(timeout=seconds + 60)
        if not out.exists():
            continue
        for line in out.read_text().splitlines():
            stack, _, n = line.rpartition(" ")
            if not n.isdigit():
                continue
            frames = stack.split(";")
            samples += int(n)
            self_counts[frames[-1]] += int(n)
            for f in set(frames):
                total_counts[f] += int(n)
    return {
        "samples": samples,
        "top_self": [(f, round(c / samples * 100, 1)) for f, c in self_counts.most_common(15)]
        if samples
        else [],
        "top_inclusive": [
            (f, round(c / samples * 100, 1))
            for f, c in total_counts.most_common(40)
            if "propylon" in f or "sqlalchemy" in f or "asyncpg" in f or "lxml" in f
        ][:20]
        if samples
        else [],
    }


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    bench = Bench(args)
    try:
        log(f"starting server on {bench.url} ({args.workers} workers), db {bench.db}")
        bench.start()
        await bench.setup()
        log("warm-up")
        await bench.run(2 if args.quick else 3, args.clients)
        duration = 3 if args.quick else args.duration
        log(f"measuring {duration} s with {args.clients} clients")
        result: dict[str, Any] = {
            "benchmark": "saml_sp_initiated_logins",
            "backend": "postgresql+redis",
            "server_workers": args.workers,
            "cpus": os.cpu_count(),
            **await bench.run(duration, args.clients),
        }
        if args.profile:
            assert bench.proc is not None
            pids = worker_pids(bench.proc.pid)
            log(f"profiling workers {pids}")
            seconds = 5 if args.quick else 10
            task = asyncio.create_task(bench.run(seconds + 2, args.clients))
            prof = await asyncio.to_thread(profile, pids, seconds, Path(bench.tmp) / "pyspy.txt")
            await task
            result["profile"] = prof
        return result
    finally:
        bench.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--clients", type=int, default=12)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    print(json.dumps(asyncio.run(amain(args)), indent=2))


if __name__ == "__main__":
    main()
