"""The servers under test (``propylon serve`` and the ``scim2-server`` peer) and in-process
tenants, directories and seeding (through ``propylon.admin.tenants``)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchkit.infra import STARTED, Infra, wait_http
from benchkit.measure import code_version, free_port, log

from scimbench.bodies import okta_user

CODE_AT_START: list[dict[str, Any]] = []  # the tree may change between server starts


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


def start_peer(token: str, attempts: int = 3) -> tuple[str, subprocess.Popen[bytes]]:
    """The peer on a fresh port. Its server binds without ``SO_REUSEADDR``, so a port picked
    while old connections to it linger in TIME_WAIT can fail: then another port is tried."""
    exe = shutil.which("scim2-server")
    cmd = [exe] if exe else [sys.executable, "-m", "scim2_server.testserver.cli"]
    for attempt in range(attempts):
        port = free_port()
        proc = subprocess.Popen(
            [*cmd, "--hostname", "127.0.0.1", "--port", str(port), "--bearer-token", token],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,  # it logs every request there: a pipe would fill up
        )
        STARTED.append(proc)
        url = f"http://127.0.0.1:{port}/v2"
        try:
            wait_http(f"{url}/ServiceProviderConfig", proc)
            return url, proc
        except RuntimeError as exc:
            STARTED.remove(proc)
            if attempt == attempts - 1:
                raise
            log(f"peer did not start on port {port} ({exc}); trying another port")
    raise AssertionError("unreachable")


def start_floor(
    dsn: str, token: str, driver: str = "sqlalchemy"
) -> tuple[str, subprocess.Popen[bytes]]:
    """The stack floor server (``stack_floor.py``) on a fresh port, on its own tables."""
    port = free_port()
    script = Path(__file__).with_name("stack_floor.py")
    sa_dsn = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    # ``--token=…`` in one word: a random token may begin with "-", which argparse would
    # take for an option
    args = ["--port", str(port), "--dsn", sa_dsn, f"--token={token}", "--driver", driver]
    proc = subprocess.Popen(
        [sys.executable, str(script), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    STARTED.append(proc)
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/Users?filter=x", proc)
    return url, proc


class Propylon:
    def __init__(self, infra: Infra) -> None:
        from propylon.runtime import build_runtime
        from propylon.settings import Settings

        self.infra = infra
        self.rt = build_runtime(
            Settings(
                # no database URL: the embedded SQLite file in ``data_dir``; no Redis URL: the
                # in-process accelerator (both as ``propylon serve`` reads them from ``env``)
                database_url=infra.env.get("PROPYLON_DATABASE_URL", ""),
                redis_url=infra.env.get("PROPYLON_REDIS_URL", ""),
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
        from propylon.admin import tenants as ops
        from propylon.admin.audited import CLI

        slug = f"{label}-{secrets.token_hex(4)}"
        view = await ops.create_tenant(
            self.rt, CLI, slug=slug, name=slug.upper(), domains=[], seats=None
        )
        out = await ops.create_directory(self.rt, CLI, slug)
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


def user_rows(
    tenant_id: str, directory_id: str, start: int, count: int, tag: str
) -> tuple[list[tuple[Any, ...]], list[tuple[str, str]]]:
    """``count`` rows of ``users`` (``doc`` as a dict, columns in ``USER_COLUMNS`` order) built
    exactly as the service builds them (``canonicalize`` + ``user_draft`` +
    ``directory.users._apply`` conventions), and their ``(id, userName)``."""
    from propylon.ids import Kind, new_id
    from propylon.scim.paths import canonicalize
    from propylon.scim.resources import user_draft

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
                d.doc,
                1,
                ts,
                ts,
                None,
                None,
            )
        )
        out.append((uid, name))
    return records, out


async def seed_users(
    infra: Infra, tenant_id: str, directory_id: str, start: int, count: int, tag: str
) -> tuple[list[tuple[str, str]], float]:
    """COPY ``count`` users (:func:`user_rows`) into ``users`` on PostgreSQL."""
    import asyncpg

    t0 = time.perf_counter()
    rows, out = user_rows(tenant_id, directory_id, start, count, tag)
    doc = USER_COLUMNS.index("doc")
    records = [(*r[:doc], json.dumps(r[doc]), *r[doc + 1 :]) for r in rows]
    conn = await asyncpg.connect(infra.pg_dsn)
    try:
        for i in range(0, len(records), 20000):
            await conn.copy_records_to_table(
                "users", records=records[i : i + 20000], columns=USER_COLUMNS
            )
        # COPY bypasses what a live table goes through: autovacuum visits any table that
        # grew by 20% within a minute (PostgreSQL defaults), setting the visibility map that
        # index-only scans (counts, listing pages) rely on. Seeded rows get the same.
        await conn.execute("VACUUM (ANALYZE) users")
    finally:
        await conn.close()
    return out, time.perf_counter() - t0


async def insert_users(
    p: Propylon, tenant_id: str, directory_id: str, start: int, count: int, tag: str
) -> tuple[list[tuple[str, str]], float]:
    """:func:`seed_users` on any backend: batched ``INSERT`` through the runtime's engine."""
    from sqlalchemy import insert

    from propylon.db.tables import User, core

    t0 = time.perf_counter()
    rows, out = user_rows(tenant_id, directory_id, start, count, tag)
    table = core(User)
    for i in range(0, len(rows), 2000):
        async with p.rt.db.write() as session:
            batch = [dict(zip(USER_COLUMNS, r, strict=True)) for r in rows[i : i + 2000]]
            await session.execute(insert(table), batch)
    return out, time.perf_counter() - t0
