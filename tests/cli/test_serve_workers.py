"""``propylon serve --workers N`` starts each worker in a fresh interpreter: the workers must
still honour the logging settings (level and JSON), not fall back to defaults."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import Server, start_server, stop_server


def test_workers_log_as_configured(server: Server) -> None:
    if server.backend.name != "postgres":
        pytest.skip("several workers is the production mode (PostgreSQL + Redis)")
    env = {"PROPYLON_LOG_LEVEL": "info", "PROPYLON_LOG_JSON": "true"}
    url, proc = start_server(server.backend, env, ("--workers", "2"), logs=True)
    try:
        for _ in range(4):
            assert httpx.get(f"{url}/healthz").status_code == 200
    finally:
        stop_server(proc)
    assert proc.stdout is not None
    lines = proc.stdout.read().decode().splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert any(r.get("event") == "request" and r.get("route") == "/healthz" for r in records)
    assert not [line for line in lines if "[info" in line]  # no console-renderer lines

    quiet_env = {"PROPYLON_LOG_LEVEL": "warning"}
    quiet, proc = start_server(server.backend, quiet_env, ("--workers", "2"), logs=True)
    try:
        assert httpx.get(f"{quiet}/healthz").status_code == 200
    finally:
        stop_server(proc)
    assert proc.stdout is not None
    assert '"event": "request"' not in proc.stdout.read().decode()


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, ValueError):
                continue
    return found


def _tcp_sockets(port: int) -> dict[int, str]:
    """Socket inode -> state ("0A" listen, "01" established) of local port ``port``."""
    out = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if int(cols[1].rsplit(":", 1)[1], 16) == port:
                    out[int(cols[9])] = cols[3]
    return out


def _states_of(pid: int, port: int) -> list[str]:
    sockets, states = _tcp_sockets(port), []
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:  # the process ended (a killed worker reaped meanwhile)
        return states
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inode = int(target[8:-1])
            if inode in sockets:
                states.append(sockets[inode])
    return states


def _workers(proc: subprocess.Popen[bytes], port: int, n: int) -> list[int]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        listening = [p for p in _children(proc.pid) if "0A" in _states_of(p, port)]
        if len(listening) == n:
            return listening
        time.sleep(0.2)
    raise AssertionError(f"{n} listening workers did not appear")


def _production(server: Server) -> None:
    if server.backend.name != "postgres":
        pytest.skip("several workers is the production mode (PostgreSQL + Redis)")


def test_kept_alive_connections_spread_over_the_workers(server: Server) -> None:
    _production(server)
    url, proc = start_server(server.backend, {}, ("--workers", "2"))
    port = int(url.rsplit(":", 1)[1])
    conns = []
    try:
        workers = _workers(proc, port, 2)
        for _ in range(32):  # opened at once, as an IdP's push or a load balancer does
            conns.append(socket.create_connection(("127.0.0.1", port), timeout=10))
        for c in conns:
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        for c in conns:
            assert c.recv(4096).startswith(b"HTTP/1.1 200")
        per_worker = [_states_of(w, port).count("01") for w in workers]
        assert sum(per_worker) == 32
        assert min(per_worker) > 0, per_worker  # all 32 on one worker: about 2 in 4 billion
    finally:
        for c in conns:
            c.close()
        stop_server(proc)


def test_a_worker_that_dies_is_replaced(server: Server) -> None:
    _production(server)
    url, proc = start_server(server.backend, {}, ("--workers", "2"))
    port = int(url.rsplit(":", 1)[1])
    try:
        first = _workers(proc, port, 2)
        time.sleep(5.5)  # past the start-up window, where a death stops the server instead
        os.kill(first[0], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = [p for p in _children(proc.pid) if "0A" in _states_of(p, port)]
            if len(now) == 2 and first[0] not in now:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the dead worker was not replaced")
        assert httpx.get(f"{url}/healthz").status_code == 200
        assert proc.poll() is None
    finally:
        stop_server(proc)
    assert not [p for p in _children(proc.pid)]  # the workers stopped with the server


def test_a_port_held_by_another_server_is_refused(server: Server) -> None:
    _production(server)
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        env = {**os.environ, **server.backend.env}
        done = subprocess.run(
            [sys.executable, "-m", "propylon.cli", "serve", "--port", str(port), "--workers", "2"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
