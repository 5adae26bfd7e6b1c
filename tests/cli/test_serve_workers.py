"""``propylon serve --workers N`` starts each worker in a fresh interpreter: the workers must
still honour the logging settings (level and JSON), not fall back to defaults."""

from __future__ import annotations

import json

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
