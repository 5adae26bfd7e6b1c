"""Test fixtures: a live Propylon server per backend, over real connections.

Every test that takes ``server`` runs twice: on the embedded default (SQLite file, in-process
accelerator) and on production mode (PostgreSQL + Redis). Each run creates its own PostgreSQL
database and Redis key prefix and removes them afterwards, so runs never collide.
"""

from __future__ import annotations

import atexit
import http.cookiejar
import json
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from propylon.runtime import Runtime, build_runtime
from propylon.settings import Settings
from propylon.tenants.directories import scim_base_url
from tests.cli_forks import FORKS

PG_ADMIN = os.environ.get("PROPYLON_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("PROPYLON_TEST_REDIS", "redis://127.0.0.1:6379/0")
RUN_ID = secrets.token_hex(4)


def _browser_keeps_secure_cookies_on_loopback(
    policy: http.cookiejar.DefaultCookiePolicy, cookie: http.cookiejar.Cookie, request: Any
) -> bool:
    """Browsers send ``Secure`` cookies to ``http://127.0.0.1`` and ``http://localhost`` (W3C
    Secure Contexts §3.1: loopback is potentially trustworthy), where the live test servers
    listen; the stdlib cookie jar httpx uses does not. The test clients act as browsers do."""
    if not cookie.secure or request.type in policy.secure_protocols:
        return True
    host = (request.host or "").rsplit(":", 1)[0].strip("[]")
    return host in ("127.0.0.1", "localhost", "::1")


http.cookiejar.DefaultCookiePolicy.return_ok_secure = (  # type: ignore[method-assign]
    _browser_keeps_secure_cookies_on_loopback
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _psql(sql: str) -> None:
    subprocess.run(["psql", PG_ADMIN, "-q", "-c", sql], check=True, capture_output=True)


@dataclass
class Backend:
    name: str
    env: dict[str, str]
    cleanup: list[str] = field(default_factory=list)

    def settings(self) -> Settings:
        return Settings(
            **{
                k.removeprefix("PROPYLON_").lower(): v
                for k, v in self.env.items()
                if k.startswith("PROPYLON_")
            }
        )


_TEMPLATES: dict[str, Path | str] = {}
"""A database at the schema's head per backend, made once per test process: new test
databases start as copies of it (PostgreSQL ``CREATE DATABASE … TEMPLATE``, a file copy for
SQLite) instead of running every migration again at each server start."""


def _migrated(env: dict[str, str]) -> None:
    FORKS.run(["migrate"], {**os.environ, **env})


def _sqlite_template() -> Path:
    found = _TEMPLATES.get("sqlite")
    if isinstance(found, Path):
        return found
    tmp = Path(tempfile.mkdtemp(prefix="propylon-template-"))
    _migrated({"PROPYLON_DATA_DIR": str(tmp)})
    _TEMPLATES["sqlite"] = tmp / "propylon.db"
    return tmp / "propylon.db"


def _copy_sqlite(template: Path, data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(template) as src, sqlite3.connect(data_dir / "propylon.db") as dst:
        src.backup(dst)


def _pg_template() -> str:
    found = _TEMPLATES.get("postgres")
    if isinstance(found, str):
        return found
    name = f"propylon_template_{RUN_ID}"
    _psql(f'CREATE DATABASE "{name}"')
    atexit.register(_psql, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    _migrated({"PROPYLON_DATA_DIR": tempfile.mkdtemp(), "PROPYLON_DATABASE_URL": url})
    _TEMPLATES["postgres"] = name
    return name


def make_backend(
    name: str, tmp: Path, extra: dict[str, str] | None = None, *, migrated: bool = True
) -> Backend:
    """A fresh database (and, for PostgreSQL, Redis key prefix) for one server. ``migrated``:
    already at the schema's head (a copy of a template); ``False``: empty."""
    env = {
        "PROPYLON_DATA_DIR": str(tmp),
        "PROPYLON_LOG_LEVEL": "warning",
        # the tests' IdPs serve their metadata, discovery and JWKS on loopback
        "PROPYLON_OUTBOUND_ALLOW_PRIVATE_HOSTS": "true",
        # every test signs in from 127.0.0.1; the per-address limit has tests of its own
        "PROPYLON_SIGN_IN_START_RATE_LIMIT_PER_MINUTE": "1000000",
        "PROPYLON_SIGN_IN_FINISH_RATE_LIMIT_PER_MINUTE": "1000000",
        # every test connects from 127.0.0.1 and many send bad credentials on purpose:
        # tests/http/test_auth_failures.py tries the limit on a server of its own
        "PROPYLON_AUTH_FAILURE_RATE_LIMIT_PER_MINUTE": "1000000",
        # likewise wrong passwords and sign-ups: tests/password/test_throttling.py tries them
        "PROPYLON_PASSWORD_ADDRESS_FREE_FAILURES": "1000000",
        "PROPYLON_PASSWORD_SIGN_IN_RATE_LIMIT_PER_MINUTE": "1000000",
        "PROPYLON_PASSWORD_SIGN_UP_RATE_LIMIT_PER_MINUTE": "1000000",
        **(extra or {}),
    }
    if name == "postgres":
        db = f"propylon_test_{RUN_ID}_{secrets.token_hex(3)}"
        template = f' TEMPLATE "{_pg_template()}"' if migrated else ""
        _psql(f'CREATE DATABASE "{db}"{template}')
        env["PROPYLON_DATABASE_URL"] = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{db}"
        env["PROPYLON_REDIS_URL"] = REDIS_URL
        env["PROPYLON_REDIS_PREFIX"] = f"propylon-test-{RUN_ID}-{secrets.token_hex(3)}:"
        return Backend(name, env, [db])
    if migrated and "PROPYLON_DATABASE_URL" not in env:
        _copy_sqlite(_sqlite_template(), Path(env["PROPYLON_DATA_DIR"]))
    return Backend(name, env)


def drop_backend(backend: Backend) -> None:
    for db in backend.cleanup:
        _psql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    prefix = backend.env.get("PROPYLON_REDIS_PREFIX")
    if prefix:
        keys = subprocess.run(
            ["redis-cli", "--scan", "--pattern", f"{prefix}*"], capture_output=True, text=True
        ).stdout.split()
        if keys:
            subprocess.run(["redis-cli", "DEL", *keys], capture_output=True, check=False)


@dataclass
class Server:
    backend: Backend
    url: str
    proc: subprocess.Popen[bytes]
    rt: Runtime

    @property
    def name(self) -> str:
        return self.backend.name

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``propylon ARGS`` against this server, in a process of its own (forked from one that
        imported the CLI once: ``tests/cli_forks.py``)."""
        env = {**os.environ, **self.backend.env, "PROPYLON_PUBLIC_URL": self.url}
        return FORKS.run(list(args), env, check=check)

    def cli_json(self, *args: str) -> Any:
        return json.loads(self.cli(*args, "--json").stdout)

    def api(self, base: str = "") -> httpx.AsyncClient:
        """A management API client holding a new API key; paths start after ``base``."""
        key = self.cli_json("api-key", "create")["key"]
        headers = {"Authorization": f"Bearer {key}"}
        return httpx.AsyncClient(base_url=self.url + base, headers=headers)


def start_server(
    backend: Backend,
    extra_env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
    *,
    logs: bool = False,
) -> tuple[str, subprocess.Popen[bytes]]:
    """Start ``propylon serve``; with ``logs`` its stdout (the structured logs) is piped."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, **backend.env, "PROPYLON_PUBLIC_URL": url, **(extra_env or {})}
    cli = [sys.executable, "-m", "propylon.cli", "serve", "--host", "127.0.0.1"]
    proc = subprocess.Popen(
        [*cli, "--port", str(port), *args],
        env=env,
        stdout=subprocess.PIPE if logs else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"server exited: {proc.stderr.read().decode() if proc.stderr else ''}"
            )
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return url, proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start in 30 s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
async def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Server]:
    backend = make_backend(request.param, tmp_path_factory.mktemp(request.param))
    async with running_server(backend) as server:
        yield server


@asynccontextmanager
async def running_server(backend: Backend) -> AsyncIterator[Server]:
    """``propylon serve`` on ``backend`` with a runtime of the same settings for the test;
    stopped, and the backend dropped, at the end."""
    url, proc = start_server(backend)
    settings = backend.settings().model_copy(update={"public_url": url})
    rt = build_runtime(settings)
    try:
        yield Server(backend, url, proc, rt)
    finally:
        await rt.close()
        stop_server(proc)
        drop_backend(backend)


@dataclass
class Directory:
    tenant_slug: str
    tenant_id: str
    directory_id: str
    base_url: str
    token: str

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=30)


async def new_directory(
    server: Server, seats: int | None = None, slug: str | None = None
) -> Directory:
    slug = slug or f"t-{secrets.token_hex(5)}"
    view = await ops.create_tenant(
        server.rt, CLI, slug=slug, name=slug.upper(), domains=[], seats=seats
    )
    out = await ops.create_directory(server.rt, CLI, slug)
    return Directory(slug, view.id, out["directory_id"], out["base_url"], out["token"])


@pytest.fixture
async def directory(server: Server) -> Directory:
    return await new_directory(server)


@pytest.fixture
async def scim(directory: Directory) -> AsyncIterator[httpx.AsyncClient]:
    async with directory.client() as client:
        yield client


@asynccontextmanager
async def backend_env_server(
    server: Server, extra_env: dict[str, str]
) -> AsyncIterator[tuple[str, Directory]]:
    """A second live server on the same backend with different settings, plus a fresh
    directory whose base URL points at it."""
    url, proc = start_server(server.backend, extra_env)
    try:
        d = await new_directory(server)
        d.base_url = scim_base_url(url, d.directory_id)
        yield url, d
    finally:
        stop_server(proc)
