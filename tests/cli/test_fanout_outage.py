"""``serve --workers 2`` on PostgreSQL and a Redis of the test's own: Redis restarts without
persistence, a SCIM token is revoked through one worker, and every worker refuses the token
within 2 s of Redis being back (issue 12: the fan-out must not die with Redis)."""

from __future__ import annotations

import secrets
import socket
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from propylon.runtime import build_runtime
from tests.cli.test_serve_workers import _states_of, _workers
from tests.conftest import drop_backend, make_backend, start_server, stop_server
from tests.own_redis import own_redis


class KeptAlive:
    """One HTTP/1.1 connection kept open: every request on it reaches the worker that
    accepted it (``SO_REUSEPORT`` spreads connections, not requests)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def _fill(self, ready: Any) -> None:
        while not ready():
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self.buf += chunk

    def request(self, method: str, path: str, bearer: str) -> int:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {bearer}\r\n"
            "Content-Length: 0\r\n\r\n"
        )
        self.sock.sendall(head.encode())
        self._fill(lambda: b"\r\n\r\n" in self.buf)
        raw, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = raw.decode("latin-1").split("\r\n")
        fields = dict(x.partition(":")[::2] for x in lines[1:])
        length = int(next((v for k, v in fields.items() if k.lower() == "content-length"), 0))
        self._fill(lambda: len(self.buf) >= length)
        self.buf = self.buf[length:]
        return int(lines[0].split()[1])

    def close(self) -> None:
        self.sock.close()


async def test_a_revocation_reaches_every_worker_within_2_s_of_redis_being_back(
    tmp_path: Path,
) -> None:
    with own_redis() as redis:
        backend = make_backend("postgres", tmp_path)
        backend.env["PROPYLON_REDIS_URL"] = redis.url
        del backend.env["PROPYLON_REDIS_PREFIX"]  # a Redis of its own: nothing to clean up
        conns: list[KeptAlive] = []
        try:
            url, proc = start_server(backend, {}, ("--workers", "2"))
            rt = build_runtime(backend.settings().model_copy(update={"public_url": url}))
            try:
                slug = f"t-{secrets.token_hex(4)}"
                await ops.create_tenant(rt, CLI, slug=slug, name="Outage", domains=[], seats=None)
                directory = await ops.create_directory(rt, CLI, slug)
                api_key = (await ops.create_api_key(rt, CLI, "outage"))["key"]
                users = urlsplit(directory["base_url"]).path + "/Users?count=1"
                revoke = f"/api/v1/scim-directories/{directory['directory_id']}/revoke-token"

                port = int(url.rsplit(":", 1)[1])
                workers = _workers(proc, port, 2)
                conns = [KeptAlive(port) for _ in range(24)]
                for _ in range(2):  # every worker has read the token and keeps a copy
                    assert {c.request("GET", users, directory["token"]) for c in conns} == {200}
                per_worker = [_states_of(w, port).count("01") for w in workers]
                assert min(per_worker) > 0, per_worker  # all on one: about 1 in 8 million

                redis.stop()
                redis.start()
                back = time.monotonic()
                assert conns[0].request("POST", revoke, api_key) == 200  # through one worker
                statuses: set[int] = set()
                while time.monotonic() - back < 2.0:
                    statuses = {c.request("GET", users, directory["token"]) for c in conns}
                    if statuses == {401}:
                        break
                    time.sleep(0.05)
                assert statuses == {401}, f"the revoked token still worked: {statuses}"
            finally:
                for c in conns:
                    c.close()
                await rt.close()
                stop_server(proc)
        finally:
            drop_backend(backend)
