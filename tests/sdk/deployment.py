"""A production-shaped deployment for the SDK's proofs and the revocation bench: PostgreSQL, a
Redis of its own (which a test may kill), two ``propylon serve`` processes (A: the issuer the
platform signs in with and whose event stream it reads; B: where the IdP's SCIM writes land),
and a separate host-platform process (``tests/sdk/host_app.py``) importing only
``propylon.sdk``. Processes are started and stopped by their pid; loopback only."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from propylon.runtime import build_runtime
from tests.conftest import Backend, Server, free_port, make_backend
from tests.own_redis import OwnRedis
from tests.provider.helpers import App, Person, code_flow, new_app, new_person

ROOT = Path(__file__).resolve().parents[2]
HOST_APP = Path(__file__).resolve().parent / "host_app.py"


def start_on(backend: Backend, port: int) -> subprocess.Popen[bytes]:
    """``propylon serve`` on a given port (a restart keeps its URL, hence the issuer)."""
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, **backend.env, "PROPYLON_PUBLIC_URL": url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "propylon.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_http(f"{url}/healthz", proc)
    return proc


def wait_http(url: str, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {seconds} s")


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


@dataclass
class Deployment:
    tmp: Path
    redis: OwnRedis = field(default_factory=OwnRedis)
    backend: Backend | None = None
    ports: tuple[int, int, int] = field(
        default_factory=lambda: (free_port(), free_port(), free_port())
    )
    procs: dict[str, subprocess.Popen[bytes] | None] = field(default_factory=dict)
    server: Server | None = None
    app: App | None = None
    api_key: str = ""

    @property
    def a(self) -> str:
        return f"http://127.0.0.1:{self.ports[0]}"

    @property
    def b(self) -> str:
        return f"http://127.0.0.1:{self.ports[1]}"

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.ports[2]}"

    async def start(self) -> None:
        self.redis.start()
        self.backend = make_backend("postgres", self.tmp)
        self.backend.env["PROPYLON_REDIS_URL"] = self.redis.url
        self.procs["a"] = start_on(self.backend, self.ports[0])
        self.procs["b"] = start_on(self.backend, self.ports[1])
        settings = self.backend.settings().model_copy(update={"public_url": self.a})
        self.server = Server(self.backend, self.a, self.procs["a"], build_runtime(settings))  # type: ignore[arg-type]
        self.app = await new_app(self.server)
        self.api_key = (await ops.create_api_key(self.server.rt, CLI, name="platform"))["key"]
        self.start_host()

    def start_propylon(self, name: str) -> None:
        assert self.backend is not None
        self.procs[name] = start_on(self.backend, self.ports[0 if name == "a" else 1])

    def start_host(self) -> None:
        assert self.app is not None and self.app.client_secret
        env = {**os.environ, "PYTHONPATH": str(ROOT / "sdk" / "src")}
        args = [str(self.ports[2]), self.a, self.app.client_id, self.api_key]
        args += [self.app.client_id, self.app.client_secret]
        proc = subprocess.Popen(
            [sys.executable, str(HOST_APP), *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.procs["host"] = proc
        wait_http(f"{self.host}/view", proc)

    def wait_fresh(self, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if httpx.get(f"{self.host}/view", timeout=2).json()["fresh"]:
                return
            time.sleep(0.05)
        raise AssertionError("the platform's view did not become fresh")

    async def person(self) -> tuple[Person, str]:
        """A provisioned person signed in at A, and their access token."""
        assert self.server is not None and self.app is not None
        person = await new_person(self.server)
        tokens, _ = await code_flow(self.server, self.app, person)
        return person, tokens["access_token"]

    def scim_at_b(self, person: Person) -> httpx.AsyncClient:
        """The person's SCIM directory, through process B."""
        return httpx.AsyncClient(
            base_url=person.directory_base.replace(self.a, self.b),
            headers={"Authorization": f"Bearer {person.scim_token}"},
            timeout=30,
        )

    def me(self, token: str, client: httpx.Client | None = None) -> httpx.Response:
        get = client.get if client is not None else httpx.get
        return get(f"{self.host}/me", headers={"Authorization": f"Bearer {token}"})

    async def close(self) -> None:
        for name in ("host", "a", "b"):
            stop(self.procs.get(name))
        if self.server is not None:
            await self.server.rt.close()
        self.redis.stop()
        if self.backend is not None:
            from tests.conftest import drop_backend

            drop_backend(self.backend)


PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def patch(*ops_: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": list(ops_)}
