"""Benchmark: password sign-ins per second over HTTP on one ``propylon serve`` worker, beside
bare argon2id verifications per second at the same parameters, measured in the same run.

Prints ONE JSON document on stdout (progress on stderr); exits 1 if a sign-in failed. Run::

    python3 bench/password_sign_in.py                     # both backends, 3 rounds of 5 s
    python3 bench/password_sign_in.py --quick             # 1 round of 3 s
    python3 bench/password_sign_in.py --backends sqlite   # the embedded mode only

A sign-in is what a browser does once it has the form: ``POST /password/sign-in`` (email,
password, the CSRF field of its cookie, and ``return_to`` naming an authorization request)
→ 302 to the app's redirect URI with a code: throttle check, account lookup, argon2id
verification (in a worker thread), session and audit entry written, code issued. The bare
figure is ``argon2.PasswordHasher.verify`` at the server's parameters on as many threads as
the benchmark has clients, with the server idle (phases interleave, never overlap). Target:
a sign-in costs at most 1.3x the hash (``cost_ratio`` = bare rate / sign-in rate).

Each server has its own data directory, or its own PostgreSQL database and Redis key prefix;
all are removed at the end and the server is stopped by its pid. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from argon2 import PasswordHasher, Type
from benchkit.http import Connection
from benchkit.infra import Infra, drop_infra, make_infra, run_main, stop
from benchkit.measure import code_version, lat_summary, log, machine_at_start
from scimbench.servers import start_propylon

from propylon.settings import Settings

PASSWORD = "a long enough benchmark passphrase"
REDIRECT = "https://rp.example.com/callback"
TARGET_RATIO = 1.3
_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')
_LINK = re.compile(r"(/password/verify\?token=\S+)")


def sqlite_infra() -> Infra:
    data_dir = tempfile.mkdtemp(prefix="propylon-bench-sqlite-")
    return Infra("", "", data_dir, {"PROPYLON_DATA_DIR": data_dir, "PROPYLON_LOG_LEVEL": "warning"})


def _cli_json(infra: Infra, url: str, *args: str) -> Any:
    env = {**os.environ, **infra.env, "PROPYLON_PUBLIC_URL": url}
    out = subprocess.run(
        [sys.executable, "-m", "propylon.cli", *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    import json

    return json.loads(out.stdout)


async def _account(url: str, data_dir: Path, address: str) -> None:
    """Sign up and follow the mailed link (setup, not timed)."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as b:
        token = _CSRF.search((await b.get("/password/sign-up")).text)
        assert token
        form = {"email": address, "password": PASSWORD, "csrf_token": token.group(1)}
        assert (await b.post("/password/sign-up", data=form)).status_code == 200
        for _ in range(400):
            for path in (data_dir / "mail").glob("*.eml"):
                msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                body = msg.get_body(("plain",))
                text = body.get_content() if body is not None else ""  # type: ignore[attr-defined]
                if msg["To"] == address and (found := _LINK.search(text)):
                    r = await b.get(found.group(1))
                    assert r.status_code == 200 and "Signed in" in r.text, r.text
                    return
            await asyncio.sleep(0.05)
    raise RuntimeError(f"no verification mail for {address}")


class SignInClient:
    """One browser that has loaded the form: its CSRF cookie and field, on one connection."""

    def __init__(self, url: str, address: str, return_to: str) -> None:
        u = urlsplit(url)
        self.conn = Connection(u.hostname or "127.0.0.1", u.port or 80)
        self.address, self.return_to = address, return_to
        self.body = b""
        self.cookie = ""

    async def open(self) -> None:
        r = await self.conn.request("GET", "/password/sign-in")
        cookie = next(c for c in r.set_cookies if c.startswith("propylon_csrf="))
        self.cookie = f"Cookie: {cookie.split(';', 1)[0]}\r\n"
        token = _CSRF.search(r.body.decode())
        assert token
        self.body = urlencode(
            {
                "email": self.address,
                "password": PASSWORD,
                "csrf_token": token.group(1),
                "return_to": self.return_to,
            }
        ).encode()

    async def sign_in(self) -> None:
        r = await self.conn.request(
            "POST", "/password/sign-in", headers=self.cookie, body=self.body
        )
        if r.status != 302 or not r.headers.get("location", "").startswith(REDIRECT + "?code="):
            raise RuntimeError(f"sign-in failed: {r.status} {r.body[:200]!r}")


async def sign_in_phase(clients: list[SignInClient], seconds: float) -> tuple[int, list[float]]:
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []

    async def run(c: SignInClient) -> None:
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            await c.sign_in()
            latencies.append((time.perf_counter() - t0) * 1000)

    await asyncio.gather(*(run(c) for c in clients))
    return len(latencies), latencies


def bare_phase(hasher: PasswordHasher, stored: str, threads: int, seconds: float) -> int:
    deadline = time.perf_counter() + seconds
    done = [0] * threads
    lock = threading.Lock()

    def run(i: int) -> None:
        while time.perf_counter() < deadline:
            hasher.verify(stored, PASSWORD)
            with lock:
                done[i] += 1

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(run, range(threads)))
    return sum(done)


async def run_backend(backend: str, rounds: int, seconds: float, clients: int) -> dict[str, Any]:
    infra = make_infra() if backend == "postgres" else sqlite_infra()
    infra.env["PROPYLON_PASSWORD_MAILS_PER_ADDRESS_PER_HOUR"] = "1000"
    url, proc = start_propylon(infra, 1)
    st = Settings()
    hasher = PasswordHasher(
        time_cost=st.password_argon2_time_cost,
        memory_cost=st.password_argon2_memory_kib,
        parallelism=st.password_argon2_parallelism,
        hash_len=32,
        salt_len=16,
        type=Type.ID,
    )
    try:
        app = _cli_json(infra, url, "app", "create", "bench", "--redirect-uri", REDIRECT)
        query = f"response_type=code&client_id={app['client_id']}&scope=openid&state=s&nonce=n"
        return_to = f"/oauth2/authorize?{query}&{urlencode({'redirect_uri': REDIRECT})}"
        addresses = [f"bench-{i}@individuals.example" for i in range(clients)]
        for address in addresses:
            await _account(url, Path(infra.data_dir), address)
        browsers = [SignInClient(url, a, return_to) for a in addresses]
        for b in browsers:
            await b.open()
        await sign_in_phase(browsers, 1.0)  # warm-up
        stored = hasher.hash(PASSWORD)
        signed, bare, lat, spent = 0, 0, [], 0.0
        for r in range(rounds):
            t0 = time.perf_counter()
            n, latencies = await sign_in_phase(browsers, seconds)
            spent_signin = time.perf_counter() - t0
            signed, lat = signed + n, lat + latencies
            t0 = time.perf_counter()
            bare += await asyncio.to_thread(bare_phase, hasher, stored, clients, seconds)
            spent += time.perf_counter() - t0
            log(f"{backend} round {r + 1}: {n / spent_signin:.1f} sign-ins/s")
        signin_rate = signed / (rounds * seconds)
        bare_rate = bare / spent
        for b in browsers:
            await b.conn.close()
        return {
            "sign_ins": signed,
            "sign_ins_per_second": round(signin_rate, 2),
            "argon2id_verifications_per_second": round(bare_rate, 2),
            "cost_ratio": round(bare_rate / signin_rate, 3),
            "sign_in_latency_ms": lat_summary(lat),
        }
    finally:
        stop(proc)
        if backend == "postgres":
            drop_infra(infra)
        else:
            shutil.rmtree(infra.data_dir, ignore_errors=True)


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    rounds, seconds = (1, 3.0) if args.quick else (args.rounds, args.seconds)
    clients = args.clients or os.cpu_count() or 1
    st = Settings()
    result: dict[str, Any] = {
        "benchmark": "propylon password_sign_in",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_at_start(),
        "config": {
            "server": "propylon serve, 1 worker, loopback",
            "clients": clients,
            "rounds": rounds,
            "seconds_per_phase": seconds,
            "argon2id": {
                "memory_kib": st.password_argon2_memory_kib,
                "time_cost": st.password_argon2_time_cost,
                "parallelism": st.password_argon2_parallelism,
            },
        },
        "targets": {"cost_ratio_max": TARGET_RATIO},
        "code": code_version(),
    }
    met: dict[str, bool] = {}
    for backend in args.backends.split(","):
        figures = await run_backend(backend, rounds, seconds, clients)
        result[backend] = figures
        met[f"{backend}_cost_ratio_at_most_1.3"] = figures["cost_ratio"] <= TARGET_RATIO
    result["targets_met"] = met
    result["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one round of 3 s")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per phase")
    parser.add_argument("--clients", type=int, default=0, help="default: one per core")
    parser.add_argument("--backends", default="sqlite,postgres", help="sqlite, postgres")
    run_main(amain, parser.parse_args())


if __name__ == "__main__":
    main()
