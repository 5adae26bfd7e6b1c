"""The container's entrypoint (scripts/entrypoint), run here without Docker: it migrates a
fresh database, then serves; it takes the secret key from the secret file; other arguments
run that propylon command."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from propylon.crypto.keyfile import KEY_FILE
from propylon.crypto.secretbox import new_key_text
from tests.conftest import Backend, drop_backend, free_port, make_backend, stop_server

ROOT = Path(__file__).resolve().parent.parent.parent
ENTRYPOINT = str(ROOT / "scripts" / "entrypoint")


def _env(backend: Backend, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROPYLON_")}
    path = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH")) if p)
    return {**env, **backend.env, "PROPYLON_PYTHON": sys.executable, "PYTHONPATH": path, **extra}


@pytest.fixture(params=["sqlite", "postgres"])
def empty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    backend = make_backend(request.param, tmp_path / "data", migrated=False)
    try:
        yield backend
    finally:
        drop_backend(backend)


def _wait_ready(url: str, proc: subprocess.Popen[bytes]) -> httpx.Response:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        try:
            r = httpx.get(f"{url}/readyz", timeout=1)
            if r.status_code == 200:
                return r
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("the entrypoint did not serve within 60 s")


def test_it_migrates_a_fresh_database_then_serves(empty: Backend, tmp_path: Path) -> None:
    key_file = tmp_path / "secret"
    key_file.write_text(new_key_text() + "\n")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = _env(
        empty,
        HOST="127.0.0.1",
        PORT=str(port),
        PROPYLON_PUBLIC_URL=url,
        PROPYLON_AUTO_MIGRATE="false",  # so serving proves the entrypoint migrated
        PROPYLON_SECRET_KEY_FILE=str(key_file),
    )
    proc = subprocess.Popen([ENTRYPOINT], env=env, stderr=subprocess.PIPE)
    try:
        ready = _wait_ready(url, proc)
        assert ready.json()["checks"]["database"] == "ok"
        assert httpx.get(f"{url}/.well-known/openid-configuration").json()["issuer"] == url
        # the secret came from the file: no key file of its own was made in the data dir
        assert not (Path(empty.env["PROPYLON_DATA_DIR"]) / KEY_FILE).exists()
    finally:
        stop_server(proc)
    check = subprocess.run(
        [ENTRYPOINT, "migrate", "--check", "--json"], env=env, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    assert '"current": true' in check.stdout


def test_other_arguments_run_that_command_without_migrating(empty: Backend) -> None:
    out = subprocess.run(
        [ENTRYPOINT, "migrate", "--check", "--json"],
        env=_env(empty, PROPYLON_SECRET_KEY=new_key_text()),
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1  # nothing migrated it: the schema is behind
    assert '"current": false' in out.stdout


def test_postgresql_without_a_secret_key_is_refused_before_anything_runs(
    tmp_path: Path,
) -> None:
    """In production mode every process must seal with the same key: the entrypoint refuses
    to let Propylon make one inside the container (lost when it is recreated)."""
    backend = Backend("postgres", {"PROPYLON_DATA_DIR": str(tmp_path)})
    env = _env(
        backend,
        PROPYLON_DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:5432/never_created",
        PROPYLON_SECRET_KEY_FILE=str(tmp_path / "absent"),
    )
    out = subprocess.run([ENTRYPOINT, "serve"], env=env, capture_output=True, text=True)
    assert out.returncode == 78
    assert "no PROPYLON_SECRET_KEY" in out.stderr
    assert not (tmp_path / KEY_FILE).exists()
