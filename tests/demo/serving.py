"""Servers of the demo tests: they start with the test IdP enabled, whose keys are made at
the first start on a database (RSA key generation, a second of CPU or more on a busy
machine), so they get longer than ``tests/conftest.py start_server`` to listen."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx

from tests.conftest import free_port, stop_server

START_SECONDS = 120


def serve(
    command: list[str], env: dict[str, str], *, public_url: bool = True
) -> tuple[str, subprocess.Popen[bytes]]:
    """``python -m propylon.cli COMMAND --port N`` with ``env`` (and, with ``public_url``,
    ``PROPYLON_PUBLIC_URL`` set to where it listens); returns once ``/healthz`` answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "propylon.cli", *command, "--port", str(port)],
        env=env | ({"PROPYLON_PUBLIC_URL": url} if public_url else {}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "exited")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return url, proc
        except httpx.HTTPError:
            time.sleep(0.2)
    stop_server(proc)
    raise RuntimeError(f"{' '.join(command)} did not serve within {START_SECONDS} s")
