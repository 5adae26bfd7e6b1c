"""Benchmark: Propylon's SCIM 2.0 service provider on PostgreSQL + Redis, over HTTP on loopback.

Prints ONE JSON document on stdout (progress goes to stderr). Run::

    python3 bench/scim_bench.py            # full run (a few minutes)
    python3 bench/scim_bench.py --quick    # smoke run (smaller sizes, shorter durations)
    python3 bench/scim_bench.py --profile /tmp/prof   # also py-spy the server during okta_500

What it measures (see bench/README.md):

(a) ``okta_500``: a 500-user organisation provisioned the way Okta does it, sequentially from
    one keep-alive client: per user ``GET /Users?filter=userName eq "…"&startIndex=1&count=100``
    then ``POST /Users``; then per group (10) ``GET /Groups?filter=displayName eq "…"``,
    ``POST /Groups`` and one ``PATCH`` adding 50 members: 1,030 requests. The same sequence
    runs against ``scim2-server`` (PyPI, in-memory; served by its own ``scim2-server`` command,
    as its README shows) and the ratio propylon/peer is reported.
(b) ``filter_latency``: ``GET /Users?filter=userName eq "<random existing user>"`` latency with
    1k, 10k and 100k users in one directory (rows seeded with PostgreSQL COPY, built with the
    service's own ``canonicalize`` + ``user_draft`` so columns follow its conventions).
(c) ``mixed``: 16 concurrent keep-alive clients for 30 s of mixed SCIM traffic, then a check
    that no user that got a 201 is lost and no userName exists twice.

The HTTP client is a minimal asyncio HTTP/1.1 client (keep-alive, Content-Length/chunked/EOF
bodies) so the client costs little; its CPU time is reported, and (a) is also run once with
httpx to show what a heavier client adds.
Only loopback; every process started here is stopped by its pid; the PostgreSQL database and
the Redis keys created here are removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

try:
    import orjson

    def jloads(b: bytes) -> Any:
        return orjson.loads(b)

    def jdumps(o: Any) -> bytes:
        return orjson.dumps(o)
except ImportError:  # pragma: no cover

    def jloads(b: bytes) -> Any:
        return json.loads(b)

    def jdumps(o: Any) -> bytes:
        return json.dumps(o, separators=(",", ":")).encode()


PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"
RUN_ID = secrets.token_hex(4)
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
REQUEST_TIMEOUT = 30.0

STARTED: list[subprocess.Popen[bytes]] = []
CODE_AT_START: list[dict[str, Any]] = []  # the tree may change between server starts


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    s = sorted(samples)
    return s[max(0, min(len(s) - 1, math.ceil(q * len(s)) - 1))]


def lat_summary(ms: list[float]) -> dict[str, Any]:
    return {
        "n": len(ms),
        "mean_ms": round(statistics.fmean(ms), 3) if ms else None,
        "p50_ms": round(pct(ms, 0.50), 3),
        "p90_ms": round(pct(ms, 0.90), 3),
        "p99_ms": round(pct(ms, 0.99), 3),
        "max_ms": round(max(ms), 3) if ms else None,
    }


# --------------------------------------------------------------------------------------------
# CPU accounting (the machine may be shared: report what the server itself burns)
# --------------------------------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> tuple[int, float, float] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 2 :].split()
    return int(fields[1]), int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def tree_cpu(root: int) -> tuple[float, float]:
    """(user, system) CPU seconds of ``root`` and its live descendants (uvicorn workers)."""
    parents: dict[int, int] = {}
    cpu: dict[int, tuple[float, float]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            st = _stat(int(d.name))
            if st:
                parents[int(d.name)] = st[0]
                cpu[int(d.name)] = (st[1], st[2])
    user = system = 0.0
    for pid, (u, sy) in cpu.items():
        x = pid
        while x and x != root and x in parents:
            x = parents[x]
        if x == root:
            user += u
            system += sy
    return user, system


def system_cpu() -> tuple[float, float]:
    """(busy, total) jiffies over all cores from /proc/stat."""
    try:
        vals = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except OSError:
        return 0.0, 0.0
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
    return float(sum(vals) - idle), float(sum(vals))


class CpuMeter:
    """Server-tree CPU, this process's CPU and machine-wide busy share over an interval."""

    def __init__(self, server_pid: int | None) -> None:
        self.pid = server_pid

    def __enter__(self) -> CpuMeter:
        self.t0 = time.perf_counter()
        self.srv0 = tree_cpu(self.pid) if self.pid else (0.0, 0.0)
        self.me0 = time.process_time()
        self.sys0 = system_cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.t0
        u, sy = tree_cpu(self.pid) if self.pid else (0.0, 0.0)
        self.server_user, self.server_sys = u - self.srv0[0], sy - self.srv0[1]
        self.server_cpu = self.server_user + self.server_sys
        self.client_cpu = time.process_time() - self.me0
        b1, t1 = system_cpu()
        db, dt = b1 - self.sys0[0], t1 - self.sys0[1]
        self.machine_busy = db / dt if dt else float("nan")

    def report(self, requests: int) -> dict[str, Any]:
        ncpu = os.cpu_count() or 1
        other = self.machine_busy * ncpu * self.wall - self.server_cpu - self.client_cpu
        return {
            "server_cpu_seconds": round(self.server_cpu, 3),
            "server_cpu_ms_per_request": round(1000 * self.server_cpu / max(1, requests), 3),
            "server_cpu_share_of_one_core": round(self.server_cpu / self.wall, 3),
            "server_cpu_kernel_share": round(self.server_sys / self.server_cpu, 3)
            if self.server_cpu
            else None,
            "client_cpu_seconds": round(self.client_cpu, 3),
            "client_cpu_ms_per_request": round(1000 * self.client_cpu / max(1, requests), 3),
            "machine_busy_share_all_cores": round(self.machine_busy, 3),
            "other_cpu_seconds_postgres_redis_and_foreign": round(other, 3),
        }


# --------------------------------------------------------------------------------------------
# A minimal asyncio HTTP/1.1 client
# --------------------------------------------------------------------------------------------


class HttpError(Exception):
    pass


@dataclass
class Resp:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return jloads(self.body) if self.body else None


class RawClient:
    """One keep-alive connection; reconnects when the server closes (HTTP/1.0 peers)."""

    def __init__(self, base_url: str, token: str) -> None:
        u = urllib.parse.urlsplit(base_url)
        self.host, self.port = u.hostname or "127.0.0.1", u.port or 80
        self.prefix = u.path.rstrip("/")
        self.fixed = (
            f"Host: {u.netloc}\r\nAuthorization: Bearer {token}\r\n"
            "Accept: application/scim+json\r\nUser-Agent: propylon-bench\r\n"
        ).encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.connects = 0

    async def _connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connects += 1

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Resp:
        return await asyncio.wait_for(self._request(method, path, body, headers), REQUEST_TIMEOUT)

    async def _request(
        self, method: str, path: str, body: Any, headers: dict[str, str] | None
    ) -> Resp:
        payload = b"" if body is None else jdumps(body)
        head = [f"{method} {self.prefix}{path} HTTP/1.1\r\n".encode(), self.fixed]
        if body is not None:
            head.append(
                b"Content-Type: application/scim+json\r\n"
                + f"Content-Length: {len(payload)}\r\n".encode()
            )
        for k, v in (headers or {}).items():
            head.append(f"{k}: {v}\r\n".encode())
        head.append(b"\r\n")
        data = b"".join(head) + payload
        for attempt in (0, 1):
            reused = self.writer is not None
            if self.writer is None:
                await self._connect()
            assert self.reader is not None and self.writer is not None
            try:
                self.writer.write(data)
                raw = await self.reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                await self.close()
                # a keep-alive connection the server had closed: retry once on a new one
                if reused and attempt == 0 and not getattr(exc, "partial", b""):
                    continue
                raise HttpError(f"connection failed: {exc!r}") from exc
            return await self._read_rest(raw)
        raise HttpError("unreachable")

    async def _read_rest(self, raw: bytes) -> Resp:
        assert self.reader is not None
        lines = raw[:-4].decode("latin-1").split("\r\n")
        version, status = lines[0].split(" ", 2)[:2]
        hdrs: dict[str, str] = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        conn = hdrs.get("connection", "").lower()
        keep = ("close" not in conn) and (version == "HTTP/1.1" or "keep-alive" in conn)
        if "content-length" in hdrs:
            body = await self.reader.readexactly(int(hdrs["content-length"]))
        elif hdrs.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            body = b"".join(parts)
        elif status in ("204", "304") or not keep:
            body = b"" if status in ("204", "304") else await self.reader.read()
        else:
            body = b""
        if not keep:
            await self.close()
        return Resp(int(status), hdrs, body)


class HttpxClient:
    """The same interface over httpx.AsyncClient (keep-alive), to measure client overhead."""

    def __init__(self, base_url: str, token: str) -> None:
        import httpx

        self.c = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/scim+json"},
            timeout=REQUEST_TIMEOUT,
        )
        self.connects = 1

    async def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Resp:
        r = await self.c.request(
            method,
            path,
            content=None if body is None else jdumps(body),
            headers={
                **({"Content-Type": "application/scim+json"} if body is not None else {}),
                **(headers or {}),
            },
        )
        return Resp(r.status_code, dict(r.headers), r.content)

    async def close(self) -> None:
        await self.c.aclose()


def q(s: str) -> str:
    return urllib.parse.quote(s, safe="")


def eq_filter(attr: str, value: str) -> str:
    """``attr eq "value"`` URL-encoded for a query string."""
    return q(attr + ' eq "' + value + '"')


# --------------------------------------------------------------------------------------------
# Okta-style request bodies
# --------------------------------------------------------------------------------------------

DEPARTMENTS = ["Engineering", "Sales", "Marketing", "Finance", "Support", "Legal", "HR", "Ops"]


def okta_user(user_name: str, i: int) -> dict[str, Any]:
    given, family = f"Given{i}", f"Family{i}"
    return {
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": f"{given} {family}",
        "locale": "en-US",
        "externalId": f"00u{secrets.token_hex(8)}",
        "groups": [],
        "password": secrets.token_urlsafe(9),
        "active": True,
        ENTERPRISE: {
            "employeeNumber": str(100000 + i),
            "department": DEPARTMENTS[i % len(DEPARTMENTS)],
            "costCenter": f"CC{i % 37}",
            "organization": "Bench Corp",
            "division": "R&D",
        },
    }


def okta_group(name: str) -> dict[str, Any]:
    return {"schemas": [GROUP_SCHEMA], "displayName": name, "members": []}


def add_members_op(members: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "schemas": [PATCH_OP],
        "Operations": [
            {
                "op": "add",
                "path": "members",
                "value": [{"value": uid, "display": name} for uid, name in members],
            }
        ],
    }


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


# --------------------------------------------------------------------------------------------
# Infrastructure: PostgreSQL database, Redis prefix, servers
# --------------------------------------------------------------------------------------------


def psql(sql: str, db: str = "postgres") -> str:
    return subprocess.run(
        ["psql", "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER, "-d", db, "-qAtc", sql],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout


@dataclass
class Infra:
    db: str
    redis_prefix: str
    data_dir: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def pg_dsn(self) -> str:
        return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{self.db}"


def make_infra() -> Infra:
    db = f"propylon_bench_{RUN_ID}"
    psql(f'CREATE DATABASE "{db}"')
    infra = Infra(db, f"propylon-bench-{RUN_ID}:", tempfile.mkdtemp(prefix="propylon-bench-"))
    infra.env = {
        "PROPYLON_DATABASE_URL": f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{db}",
        "PROPYLON_REDIS_URL": REDIS_URL,
        "PROPYLON_REDIS_PREFIX": infra.redis_prefix,
        "PROPYLON_DATA_DIR": infra.data_dir,
        "PROPYLON_LOG_LEVEL": "warning",
        # The per-token rate limit keeps its default: an IdP's bulk push must never hit it.
    }
    return infra


def drop_infra(infra: Infra) -> None:
    with contextlib.suppress(Exception):
        psql(f'DROP DATABASE IF EXISTS "{infra.db}" WITH (FORCE)')
    with contextlib.suppress(Exception):
        import redis

        r = redis.Redis.from_url(REDIS_URL)
        keys = list(r.scan_iter(match=f"{infra.redis_prefix}*", count=1000))
        for i in range(0, len(keys), 500):
            r.delete(*keys[i : i + 500])
        r.close()
    shutil.rmtree(infra.data_dir, ignore_errors=True)


def wait_http(url: str, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"server exited: {err[-2000:]}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    stop(proc)
    raise RuntimeError(f"server at {url} did not start in {seconds} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    if proc in STARTED:
        STARTED.remove(proc)


def start_propylon(infra: Infra, workers: int) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, **infra.env, "PROPYLON_PUBLIC_URL": url}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "propylon.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    STARTED.append(proc)
    CODE_AT_START.append({"workers": workers, **code_version()})
    wait_http(f"{url}/healthz", proc)
    if workers > 1:
        time.sleep(2.0)  # let every worker finish its startup before measuring
    return url, proc


def start_peer(token: str) -> tuple[str, subprocess.Popen[bytes]]:
    exe = shutil.which("scim2-server")
    cmd = [exe] if exe else [sys.executable, "-m", "scim2_server.testserver.cli"]
    port = free_port()
    proc = subprocess.Popen(
        [*cmd, "--hostname", "127.0.0.1", "--port", str(port), "--bearer-token", token],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    STARTED.append(proc)
    url = f"http://127.0.0.1:{port}/v2"
    wait_http(f"{url}/ServiceProviderConfig", proc)
    return url, proc


# --------------------------------------------------------------------------------------------
# Tenants, directories and seeding (in-process, through propylon.tenants.operations)
# --------------------------------------------------------------------------------------------


class Propylon:
    def __init__(self, infra: Infra) -> None:
        from propylon.runtime import build_runtime
        from propylon.settings import Settings

        self.infra = infra
        self.rt = build_runtime(
            Settings(
                database_url=infra.env["PROPYLON_DATABASE_URL"],
                redis_url=REDIS_URL,
                redis_prefix=infra.redis_prefix,
                data_dir=Path(infra.data_dir),
                public_url="http://127.0.0.1:1",
            )
        )
        self.public_url = "http://127.0.0.1:1"

    async def migrate(self) -> None:
        from propylon.db.migrate import upgrade

        await upgrade(self.rt.db)

    async def new_directory(self, label: str) -> dict[str, str]:
        from propylon.tenants import operations as ops

        slug = f"{label}-{secrets.token_hex(4)}"
        view = await ops.create_tenant(
            self.rt, ops.CLI, slug=slug, name=slug.upper(), domains=[], seats=None
        )
        out = await ops.create_directory(self.rt, ops.CLI, slug)
        return {"tenant_id": view.id, "directory_id": out["directory_id"], "token": out["token"]}

    async def close(self) -> None:
        await self.rt.close()


def scim_base(server_url: str, directory_id: str) -> str:
    from propylon.tenants.directories import scim_base_url

    return scim_base_url(server_url, directory_id)


USER_COLUMNS = [
    "id",
    "tenant_id",
    "directory_id",
    "user_name",
    "user_name_ci",
    "external_id",
    "email",
    "display_name",
    "given_name",
    "family_name",
    "department",
    "active",
    "doc",
    "version",
    "created_at",
    "updated_at",
    "deactivated_at",
    "deleted_at",
]


async def seed_users(
    infra: Infra, tenant_id: str, directory_id: str, start: int, count: int, tag: str
) -> tuple[list[tuple[str, str]], float]:
    """COPY ``count`` users into ``users``, built exactly as the service builds them
    (``canonicalize`` + ``user_draft`` + ``directory.users._apply`` conventions)."""
    import asyncpg

    from propylon.ids import Kind, new_id
    from propylon.scim.paths import canonicalize
    from propylon.scim.resources import user_draft

    t0 = time.perf_counter()
    base = datetime.now(UTC) - timedelta(days=1)
    records, out = [], []
    for i in range(start, start + count):
        name = f"{tag}.user{i}@seed.example.com"
        d = user_draft(canonicalize(okta_user(name, i), "User"))
        uid = new_id(Kind.USER)
        ts = base + timedelta(microseconds=i)
        records.append(
            (
                uid,
                tenant_id,
                directory_id,
                d.user_name,
                d.user_name.lower(),
                d.external_id,
                d.email.lower() if d.email else None,
                d.display_name,
                d.given_name,
                d.family_name,
                d.department,
                d.active,
                json.dumps(d.doc),
                1,
                ts,
                ts,
                None,
                None,
            )
        )
        out.append((uid, name))
    conn = await asyncpg.connect(infra.pg_dsn)
    try:
        for i in range(0, len(records), 20000):
            await conn.copy_records_to_table(
                "users", records=records[i : i + 20000], columns=USER_COLUMNS
            )
        await conn.execute("ANALYZE users")
    finally:
        await conn.close()
    return out, time.perf_counter() - t0


# --------------------------------------------------------------------------------------------
# (a) okta_500
# --------------------------------------------------------------------------------------------


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


async def run_okta_peer(repeats: int) -> list[dict[str, Any]]:
    results = []
    for r in range(repeats):
        token = secrets.token_urlsafe(24)
        url, proc = start_peer(token)  # a fresh in-memory store per run
        try:
            client = RawClient(url, token)
            await client.request("GET", "/Users?count=1")
            res = await okta_sequence(client, f"peer{r}-{secrets.token_hex(3)}", proc.pid)
            await client.close()
        finally:
            stop(proc)
        log(
            f"okta_500 scim2-server run {r + 1}/{repeats}: {res['seconds']} s, "
            f"{res['req_per_s']} req/s, errors={len(res['errors'])}"
        )
        results.append(res)
    return results


async def http_floor(server_url: str, server_pid: int, n: int) -> dict[str, Any]:
    """Sequential GET /healthz: the HTTP stack's floor (uvicorn + FastAPI + middleware)."""
    c = RawClient(server_url, "x")
    await c.request("GET", "/healthz")
    ms = []
    t0 = time.perf_counter()
    with CpuMeter(server_pid) as meter:
        for _ in range(n):
            t = time.perf_counter()
            r = await c.request("GET", "/healthz")
            ms.append((time.perf_counter() - t) * 1000)
            assert r.status == 200
    secs = time.perf_counter() - t0
    await c.close()
    return {
        "requests": n,
        "seconds": round(secs, 3),
        "seconds_per_1030": round(secs / n * 1030, 3),
        **lat_summary(ms),
        **meter.report(n),
    }


async def infra_floor(infra: Infra, n: int) -> dict[str, Any]:
    """Round-trip floors on this machine: PostgreSQL ``SELECT 1``, one-row INSERT committed
    (WAL flush), Redis ``PING``; a SCIM request costs several of these."""
    import asyncpg
    import redis.asyncio as aredis

    out: dict[str, Any] = {}
    conn = await asyncpg.connect(infra.pg_dsn)
    try:
        await conn.execute("CREATE TEMP TABLE t (x int)")
        await conn.execute("CREATE TABLE IF NOT EXISTS bench_floor (x int)")
        for label, sql in (
            ("pg_select_1", "SELECT 1"),
            ("pg_insert_autocommit", "INSERT INTO bench_floor VALUES (1)"),
        ):
            ms = []
            for _ in range(n):
                t0 = time.perf_counter()
                await conn.execute(sql)
                ms.append((time.perf_counter() - t0) * 1000)
            out[label] = lat_summary(ms)
        await conn.execute("DROP TABLE bench_floor")
    finally:
        await conn.close()
    r = aredis.Redis.from_url(REDIS_URL)
    try:
        ms = []
        for _ in range(n):
            t0 = time.perf_counter()
            await r.ping()
            ms.append((time.perf_counter() - t0) * 1000)
        out["redis_ping"] = lat_summary(ms)
    finally:
        await r.aclose()
    return out


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


# --------------------------------------------------------------------------------------------
# (b) filter_latency
# --------------------------------------------------------------------------------------------


async def run_filter_latency(
    p: Propylon, server_url: str, sizes: list[int], n_requests: int
) -> dict[str, Any]:
    d = await p.new_directory("filter")
    base = scim_base(server_url, d["directory_id"])
    client = RawClient(base, d["token"])
    rng = random.Random(7)
    users: list[tuple[str, str]] = []
    out: dict[str, Any] = {"directory_users": {}, "requests_per_size": n_requests}
    for size in sizes:
        added, secs = await seed_users(
            p.infra, d["tenant_id"], d["directory_id"], len(users), size - len(users), "flt"
        )
        users += added
        log(f"filter_latency: seeded {len(added)} users in {secs:.1f} s (now {len(users)})")
        # warm-up
        for _uid, name in rng.sample(users, min(50, len(users))):
            await client.request("GET", f"/Users?filter={eq_filter('userName', name)}")
        ms, wrong = [], 0
        for _ in range(n_requests):
            uid, name = users[rng.randrange(len(users))]
            path = f"/Users?filter={eq_filter('userName', name)}"
            t0 = time.perf_counter()
            r = await client.request("GET", path)
            ms.append((time.perf_counter() - t0) * 1000)
            if r.status != 200:
                wrong += 1
                continue
            body = r.json()
            if body.get("totalResults") != 1 or body["Resources"][0]["id"] != uid:
                wrong += 1
        label = f"{size // 1000}k"
        out[label] = {**lat_summary(ms), "wrong_results": wrong}
        log(f"filter_latency {label}: p50 {out[label]['p50_ms']} ms, p99 {out[label]['p99_ms']} ms")
    await client.close()
    return out


# --------------------------------------------------------------------------------------------
# (c) mixed
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# Optional profile of the server during okta_500 (py-spy)
# --------------------------------------------------------------------------------------------


def _frame_name(frame: str) -> str:
    """``func (path/to/file.py:123)`` -> ``func (file-relative path)`` without the line."""
    func, _, loc = frame.partition(" (")
    loc = loc.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "lib/python3.11/", "src/"):
        if marker in loc:
            loc = loc.split(marker, 1)[1]
            break
    return f"{func} ({loc})"


def parse_collapsed(path: Path, busy_possible: float, top: int = 30) -> dict[str, Any]:
    """Summarize py-spy ``--format raw`` (collapsed stacks, on-CPU samples only):
    self time per function, inclusive time per function and per module."""
    self_c: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    mod_incl: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, n_s = line.rpartition(" ")
        if not stack or not n_s.isdigit():
            continue
        n = int(n_s)
        frames = [_frame_name(f) for f in stack.split(";") if "(" in f]
        if not frames:
            continue
        total += n
        self_c[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
        mods = {f.split(" (", 1)[1].rstrip(")").split("/")[0] for f in frames}
        for m in mods:
            mod_incl[m] += n
    t = max(1, total)
    return {
        "cpu_samples": total,
        "server_busy_share_of_wall": round(total / busy_possible, 3) if busy_possible else None,
        "top_self": [
            {"frame": f, "share_of_cpu": round(c / t, 4)} for f, c in self_c.most_common(top)
        ],
        "top_inclusive": [
            {"frame": f, "share_of_cpu": round(c / t, 4)} for f, c in incl.most_common(top * 2)
        ],
        "inclusive_by_package": {m: round(c / t, 4) for m, c in mod_incl.most_common(25)},
    }


async def profile_okta(
    p: Propylon, server_url: str, proc: subprocess.Popen[bytes], out_dir: Path
) -> dict[str, Any]:
    exe = shutil.which("py-spy")
    if not exe:
        return {"skipped": "py-spy not installed (pip install py-spy)"}
    out_dir.mkdir(parents=True, exist_ok=True)
    rate = 250
    out = out_dir / "okta_collapsed.txt"
    spy = subprocess.Popen(
        [
            exe,
            "record",
            "--pid",
            str(proc.pid),
            "--rate",
            str(rate),
            "--format",
            "raw",
            "-o",
            str(out),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    STARTED.append(spy)
    await asyncio.sleep(1.5)
    t0 = time.perf_counter()
    runs = await run_okta_propylon(p, server_url, proc.pid, 2)
    wall = time.perf_counter() - t0
    await asyncio.sleep(0.5)
    spy.send_signal(signal.SIGINT)
    try:
        spy.wait(timeout=60)
    except subprocess.TimeoutExpired:
        spy.kill()
        spy.wait()
    STARTED.remove(spy)
    res: dict[str, Any] = {
        "tool": f"py-spy record --rate {rate} --format raw --nonblocking (on-CPU samples)",
        "okta_seconds_under_profiler": [r["seconds"] for r in runs],
        "file": str(out),
    }
    if out.exists():
        res["summary"] = parse_collapsed(out, busy_possible=rate * (wall + 2.0))
    else:
        res["error"] = (spy.stderr.read().decode() if spy.stderr else "")[-800:]
    return res


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------


def code_version() -> dict[str, Any]:
    """Which Propylon was measured: git HEAD and the uncommitted files under src/."""
    root = Path(__file__).resolve().parent.parent

    def git(*a: str) -> str:
        try:
            return subprocess.run(
                ["git", "-C", str(root), *a], capture_output=True, text=True, timeout=10
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return ""

    dirty = [ln[3:] for ln in git("status", "--porcelain", "--", "src").splitlines()]
    return {"git_head": git("rev-parse", "--short", "HEAD").strip(), "src_uncommitted": dirty}


def python_speed() -> float:
    """Seconds for a fixed pure-Python loop: a speed gauge of this (possibly shared) machine."""
    t0 = time.perf_counter()
    acc = 0
    for i in range(3_000_000):
        acc += i * i
    return round(time.perf_counter() - t0, 3)


TARGETS = {
    "okta_500_propylon_seconds_max": 2.5,
    "okta_500_ratio_propylon_over_peer_max": 0.5,
    "filter_p99_100k_ms_max": 10.0,
    "filter_p99_100k_over_1k_max": 1.5,
    "mixed_req_per_s_min": 500,
    "mixed_5xx_max": 0,
    "mixed_lost_or_duplicated_max": 0,
}


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    quick = args.quick
    repeats = 1 if quick else 3
    sizes = [1000, 10000] if quick else [1000, 10000, 100000]
    filter_n = 100 if quick else 500
    mixed_seconds = 5.0 if quick else 30.0
    mixed_seed = 1000 if quick else 10000
    worker_counts = [1] if (quick or args.workers == 1) else [1, 2]

    result: dict[str, Any] = {
        "benchmark": "propylon scim_bench",
        "mode": "quick" if quick else "full",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "nproc": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "postgres": psql("SHOW server_version").strip(),
            "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
            "python_loop_3M_seconds_at_start": python_speed(),
            "note": "machine_busy_share_all_cores and other_cpu_seconds_* in each phase show "
            "whether other work shared the machine; server_cpu_ms_per_request is robust to it",
        },
        "config": {
            "server": "propylon serve (uvicorn) on PostgreSQL + Redis, loopback",
            "client": "minimal asyncio HTTP/1.1 keep-alive client in this process (see code)",
            "scim_rate_limit_per_minute": "default (60000)",
            "okta_repeats": repeats,
            "filter_sizes": sizes,
            "filter_requests_per_size": filter_n,
            "mixed_seconds": mixed_seconds,
            "mixed_clients": 16,
            "mixed_seeded_users": mixed_seed,
            "mixed_weights_percent": dict(MIX),
            "peer": "scim2-server "
            + subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "import importlib.metadata as m;print(m.version('scim2-server'))",
                ],
                capture_output=True,
                text=True,
            ).stdout.strip()
            + " via its `scim2-server` command (wsgiref ThreadingWSGIServer, in-memory)",
        },
        "targets": TARGETS,
        "code": code_version(),
    }
    infra = make_infra()
    log(f"database {infra.db}, redis prefix {infra.redis_prefix}")
    p = Propylon(infra)
    try:
        await p.migrate()
        okta: dict[str, Any] = {}
        mixed: dict[str, Any] = {}
        for w in worker_counts:
            url, proc = start_propylon(infra, w)
            log(f"propylon serving at {url} with {w} worker(s), pid {proc.pid}")
            try:
                if w == 1:
                    result["floors"] = {
                        **await infra_floor(infra, 300 if quick else 1000),
                        "http_get_healthz_sequential": await http_floor(url, proc.pid, 1030),
                    }
                runs = await run_okta_propylon(p, url, proc.pid, repeats)
                okta[f"propylon_workers{w}"] = summarize_runs(runs)
                if w == 1:
                    hx = await run_okta_propylon(p, url, proc.pid, 1, client_kind="httpx")
                    okta["propylon_workers1_httpx_client"] = {
                        "seconds": hx[0]["seconds"],
                        "client_cpu_seconds": hx[0]["client_cpu_seconds"],
                        "client_cpu_share": hx[0]["client_cpu_share"],
                        "client_cpu_ms_per_request": hx[0]["client_cpu_ms_per_request"],
                        "server_cpu_ms_per_request": hx[0]["server_cpu_ms_per_request"],
                        "errors": len(hx[0]["errors"]),
                    }
                    result["filter_latency"] = await run_filter_latency(p, url, sizes, filter_n)
                    if args.profile:
                        try:
                            result["profile_okta_workers1"] = await profile_okta(
                                p, url, proc, Path(args.profile)
                            )
                        except Exception as exc:  # the profile is optional
                            result["profile_okta_workers1"] = {"error": repr(exc)}
                mixed[f"workers{w}"] = await run_mixed(
                    p, url, proc.pid, mixed_seed, 16, mixed_seconds, f"w{w}"
                )
            finally:
                stop(proc)
        peer_runs = await run_okta_peer(repeats)
        okta["peer_scim2_server"] = summarize_runs(peer_runs)
        prop = okta["propylon_workers1"]["seconds_median"]
        peer = okta["peer_scim2_server"]["seconds_median"]
        okta["ratio_propylon_over_peer"] = round(prop / peer, 3)
        okta["raw_client_vs_httpx_note"] = (
            "client_cpu_share is the bench process's CPU time / wall time; the httpx row is the "
            "same sequence with httpx.AsyncClient, to show what a heavier client adds."
        )
        result["okta_500"] = okta
        result["mixed"] = mixed
    finally:
        await p.close()
        drop_infra(infra)

    flt = result["filter_latency"]
    big = flt.get("100k") or flt.get(f"{sizes[-1] // 1000}k")
    m1 = result["mixed"]["workers1"]
    best_mixed = max(result["mixed"].values(), key=lambda m: m["req_per_s"])
    ver_bad = sum(
        m["verification"]["lost"]
        + m["verification"]["mismatched_or_filter_not_exactly_one"]
        + m["verification"]["username_201_twice"]
        + m["verification"]["db_duplicate_usernames"]
        + abs(m["verification"]["db_live_users"] - m["verification"]["db_live_users_expected"])
        for m in result["mixed"].values()
    )
    result["targets_met"] = {
        "okta_500_propylon_under_2_5_s": prop < TARGETS["okta_500_propylon_seconds_max"],
        "okta_500_at_most_half_of_peer": okta["ratio_propylon_over_peer"]
        <= TARGETS["okta_500_ratio_propylon_over_peer_max"],
        "filter_p99_100k_under_10_ms": ("100k" in flt)
        and big["p99_ms"] < TARGETS["filter_p99_100k_ms_max"],
        "filter_p99_100k_at_most_1_5x_1k": ("100k" in flt)
        and big["p99_ms"] <= TARGETS["filter_p99_100k_over_1k_max"] * flt["1k"]["p99_ms"],
        "mixed_at_least_500_req_s_workers1": m1["req_per_s"] >= TARGETS["mixed_req_per_s_min"],
        "mixed_at_least_500_req_s_best_workers": best_mixed["req_per_s"]
        >= TARGETS["mixed_req_per_s_min"],
        "mixed_zero_5xx": all(
            m["status_5xx"] == 0 and m["transport_errors"] == 0 for m in result["mixed"].values()
        ),
        "mixed_zero_lost_or_duplicated": ver_bad == 0,
    }
    result["headline"] = {
        "okta_500_propylon_seconds_median": prop,
        "okta_500_peer_seconds_median": peer,
        "okta_500_ratio": okta["ratio_propylon_over_peer"],
        "filter_p99_ms": {k: v["p99_ms"] for k, v in flt.items() if k.endswith("k")},
        "mixed_req_per_s": {k: v["req_per_s"] for k, v in result["mixed"].items()},
        "mixed_p99_ms": {k: v["latency_all"]["p99_ms"] for k, v in result["mixed"].items()},
        "mixed_5xx": {k: v["status_5xx"] for k, v in result["mixed"].items()},
    }
    result["code"]["at_each_server_start"] = CODE_AT_START
    result["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["machine"]["python_loop_3M_seconds_at_end"] = python_speed()
    result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, short durations")
    parser.add_argument(
        "--workers",
        type=int,
        choices=(1, 2),
        default=2,
        help="also run (a) and (c) with 2 server workers (default: yes)",
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="py-spy the server (1 worker) during two extra okta_500 runs",
    )
    args = parser.parse_args()
    t0 = time.perf_counter()
    try:
        result = asyncio.run(amain(args))
    finally:
        for proc in list(STARTED):
            stop(proc)
    result["wall_seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
