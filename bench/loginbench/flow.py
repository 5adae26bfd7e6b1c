"""One complete SP-initiated login as a fresh browser, the IdP and a relying party do it, and
the benchmark around it: the server subprocess on one backend (PostgreSQL + Redis with its own
database and key prefix, or the embedded SQLite file with no Redis), the tenant, SAML
connection, OIDC app and SCIM users it logs in, and the measured runs of concurrent simulated
clients."""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from benchkit.http import Connection, Resp
from benchkit.infra import psql
from benchkit.infra import stop as stop_process
from benchkit.measure import free_port
from benchkit.measure import log as bench_log
from lxml import etree

from loginbench.idp import Idp, form_b64
from loginbench.meter import CpuMeter, summary
from propylon.admin import apps
from propylon.admin import saml_connections as operations_saml
from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from propylon.runtime import build_runtime
from propylon.settings import Settings
from propylon.tenants.saml_connections import IdpSource
from tests.saml.idp import make_keypair

PG_ADMIN = os.environ.get("PROPYLON_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_BASE = PG_ADMIN.rsplit("/", 1)[0]
REDIS_URL = os.environ.get("PROPYLON_TEST_REDIS", "redis://127.0.0.1:6379/0")
IDP = "http://www.okta.com/exk-bench"
SSO = "https://bench.okta.test/app/sso/saml"
REDIRECT = "https://rp.example.com/callback"
USERS = 200
LOGIN_TIMEOUT_S = 30.0
STEPS = ("authorize", "idp", "acs", "token", "userinfo")
BACKEND_VARIABLES = ("PROPYLON_DATABASE_URL", "PROPYLON_REDIS_URL", "PROPYLON_REDIS_PREFIX")


def log(msg: str) -> None:
    """Progress on stderr as ``[saml_logins HH:MM:SS] msg``."""
    bench_log(msg, name="saml_logins")


@dataclass
class CookieJar:
    """Host-only cookies of the one origin under test, each sent on every request (paths are
    not tracked: the pending login's cookie, scoped to the ACS, reaches other paths too, which
    they ignore). ``Secure`` is moot over plain-http loopback, as in browsers; an
    expired/``Max-Age=0`` cookie is removed."""

    cookies: dict[str, str] = field(default_factory=dict)

    def update(self, set_cookies: list[str]) -> None:
        for raw in set_cookies:
            first, *attrs = raw.split(";")
            name, _, value = first.strip().partition("=")
            expired = any(
                a.strip().lower().startswith("max-age=") and int(a.split("=", 1)[1]) <= 0
                for a in attrs
            )
            if expired:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    def header(self) -> str:
        if not self.cookies:
            return ""
        return "Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()) + "\r\n"


class LoginFailed(Exception):
    def __init__(self, step: str, resp: Resp | None = None, detail: str = "") -> None:
        self.step = step
        # the kind is what error_kinds counts: keep it short and stable
        self.kind = f"{step} {resp.status}" if resp else f"{step} {detail.split(':')[0]}"
        body = resp.body[:200].decode("utf-8", "replace") if resp else detail
        super().__init__(f"{self.kind}: {body}")


@dataclass
class RunStats:
    logins: int = 0
    latencies: list[float] = field(default_factory=list)
    steps: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STEPS})
    idp_cpu_s: float = 0.0
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)


class Bench:
    """One server under test. ``backend`` ``postgres``: PostgreSQL + Redis, its own database
    and key prefix; ``sqlite``: the embedded default (the SQLite file in the data directory,
    no Redis), every setting at its default."""

    def __init__(self, args: argparse.Namespace, backend: str = "postgres", workers: int = 0):
        self.args = args
        self.backend = backend
        self.workers = workers or args.workers
        self.pg = backend == "postgres"
        self.db = f"propylon_bench_{secrets.token_hex(4)}"
        self.prefix = f"propylon-bench-{secrets.token_hex(4)}:"
        self.tmp = tempfile.mkdtemp(prefix="propylon-bench-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            "PROPYLON_PUBLIC_URL": self.url,
            "PROPYLON_DATA_DIR": self.tmp,
            "PROPYLON_LOG_LEVEL": "warning",
            # every simulated browser starts its sign-ins from 127.0.0.1
            "PROPYLON_SIGN_IN_START_RATE_LIMIT_PER_MINUTE": "100000000",
            "PROPYLON_SIGN_IN_FINISH_RATE_LIMIT_PER_MINUTE": "100000000",
        }
        if self.pg:
            pg_url = f"postgresql+asyncpg://{PG_BASE.split('://', 1)[1]}/{self.db}"
            values = (pg_url, REDIS_URL, self.prefix)
            self.env |= dict(zip(BACKEND_VARIABLES, values, strict=True))
        self.proc: subprocess.Popen[bytes] | None = None
        self.db_created = False
        self.keypair = make_keypair("bench-idp")

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        if self.pg:
            psql(f'CREATE DATABASE "{self.db}"', db=PG_ADMIN)
            self.db_created = True
        cmd = [sys.executable, "-m", "propylon.cli", "serve", "--host", "127.0.0.1"]
        cmd += ["--port", str(self.port), "--workers", str(self.workers)]
        # the embedded server must not pick up a database or Redis from the caller's shell
        inherited = {k: v for k, v in os.environ.items() if k not in BACKEND_VARIABLES}
        self.proc = subprocess.Popen(
            cmd,
            env={**inherited, **self.env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}")
            try:
                with direct.open(f"{self.url}/healthz", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)  # SIGTERM, 15 s, then SIGKILL
        if self.db_created:
            try:
                psql(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)', db=PG_ADMIN)
            except subprocess.CalledProcessError as exc:
                log(f"could not drop {self.db}: {exc}")
        if not self.pg:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        keys = subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "--scan", "--pattern", f"{self.prefix}*"],
            capture_output=True,
            text=True,
        ).stdout.split()
        for i in range(0, len(keys), 500):
            subprocess.run(
                ["redis-cli", "-h", "127.0.0.1", "DEL", *keys[i : i + 500]], capture_output=True
            )
        shutil.rmtree(self.tmp, ignore_errors=True)

    async def setup(self) -> None:
        fields: dict[str, Any] = {
            k.removeprefix("PROPYLON_").lower(): v for k, v in self.env.items()
        }
        settings = Settings(**fields)
        rt = build_runtime(settings)
        try:
            slug = "bench"
            domain = "bench.example.com"
            await ops.create_tenant(rt, CLI, slug=slug, name="Bench", domains=[domain], seats=None)
            d = await ops.create_directory(rt, CLI, slug)
            conn = await operations_saml.create_connection(
                rt,
                CLI,
                slug,
                IdpSource(sso_url=SSO, idp_entity_id=IDP, certificates=(self.keypair.cert,)),
            )
            app = await apps.create_app(
                rt,
                CLI,
                name="bench-rp",
                redirect_uris=[REDIRECT],
                post_logout_redirect_uris=[],
                public=False,
            )
        finally:
            await rt.close()
        self.acs_path = urlsplit(conn["acs_url"]).path
        self.idp = Idp(self.keypair, issuer=IDP, acs=conn["acs_url"], audience=conn["sp_entity_id"])
        self.idp.self_check()
        basic = base64.b64encode(
            f"{quote(app['client_id'], safe='')}:{quote(app['client_secret'], safe='')}".encode()
        ).decode()
        self.rp_headers = f"Authorization: Basic {basic}\r\nAccept: application/json\r\n"
        self.emails = [f"user{i}@{domain}" for i in range(USERS)]
        self.authorize = {
            email: "/oauth2/authorize?"
            + urlencode(
                {
                    "response_type": "code",
                    "client_id": app["client_id"],
                    "redirect_uri": REDIRECT,
                    "scope": "openid email",
                    "state": "s",
                    "nonce": "n",
                    "login_hint": email,
                }
            )
            for email in self.emails
        }
        scim = Connection("127.0.0.1", self.port)
        path = urlsplit(d["base_url"]).path.rstrip("/") + "/Users"
        auth = f"Authorization: Bearer {d['token']}\r\n"
        try:
            for email in self.emails:
                user = {
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": email,
                    "active": True,
                    "emails": [{"value": email, "primary": True}],
                    "name": {"givenName": "B", "familyName": "Ench"},
                }
                r = await scim.request(
                    "POST",
                    path,
                    headers=auth,
                    body=json.dumps(user).encode(),
                    content_type="application/scim+json",
                )
                if r.status != 201:
                    raise RuntimeError(f"SCIM create {email}: {r.status} {r.body[:200]!r}")
        finally:
            await scim.close()

    # --- one login -----------------------------------------------------------------------
    async def login(self, rp: Connection, email: str, st: RunStats) -> None:
        """One login by a fresh browser: its own connection and an empty cookie jar."""
        browser = Connection("127.0.0.1", self.port)
        try:
            await self._login(browser, rp, email, st)
        finally:
            await browser.close()

    async def _login(self, browser: Connection, rp: Connection, email: str, st: RunStats) -> None:
        jar = CookieJar()
        steps: dict[str, float] = {}

        async def get(step: str, target: str, status: int) -> Resp:
            t0 = time.perf_counter()
            r = await browser.request("GET", target, headers=jar.header())
            steps[step] = time.perf_counter() - t0
            jar.update(r.set_cookies)
            if r.status != status or "location" not in r.headers:
                raise LoginFailed(step, r)
            return r

        r = await get("authorize", self.authorize[email], 302)
        location = r.headers["location"]
        if not location.startswith(SSO + "?"):
            raise LoginFailed("authorize", detail=f"not to the IdP: {location[:80]}")

        # the IdP: read the AuthnRequest (HTTP-Redirect binding), answer that very ID
        t0, c0 = time.perf_counter(), time.thread_time()
        q = parse_qs(urlsplit(location).query)
        request = etree.fromstring(zlib.decompress(base64.b64decode(q["SAMLRequest"][0]), -15))
        request_id = request.get("ID")
        if not request_id:
            raise LoginFailed("authorize", detail="AuthnRequest without ID")
        saml_response = base64.b64encode(self.idp.build(request_id, email)).decode()
        relay = quote(q["RelayState"][0], safe="")
        form = f"SAMLResponse={form_b64(saml_response)}&RelayState={relay}"
        steps["idp"] = time.perf_counter() - t0
        st.idp_cpu_s += time.thread_time() - c0

        t0 = time.perf_counter()
        r = await browser.request("POST", self.acs_path, headers=jar.header(), body=form.encode())
        steps["acs"] = time.perf_counter() - t0
        jar.update(r.set_cookies)
        if r.status != 303 or "location" not in r.headers or "propylon_session" not in jar.cookies:
            raise LoginFailed("acs", r)
        redirect = r.headers["location"]  # signed in: straight back to the RP with the code
        if not redirect.startswith(REDIRECT + "?"):
            raise LoginFailed("acs", detail=f"not to the RP: {redirect[:80]}")
        answer = parse_qs(urlsplit(redirect).query)
        if answer.get("state") != ["s"] or "code" not in answer:
            raise LoginFailed("acs", detail=f"no code/state: {redirect[:80]}")
        code = answer["code"][0]

        # the relying party's back channel, on its own connection (no browser cookies)
        body = urlencode(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
        ).encode()
        t0 = time.perf_counter()
        r = await rp.request("POST", "/oauth2/token", headers=self.rp_headers, body=body)
        steps["token"] = time.perf_counter() - t0
        tokens = json.loads(r.body) if r.status == 200 else {}
        if "id_token" not in tokens or "access_token" not in tokens:
            raise LoginFailed("token", r)

        # the relying party reads the person's claims with the access token
        bearer = f"Authorization: Bearer {tokens['access_token']}\r\nAccept: application/json\r\n"
        t0 = time.perf_counter()
        r = await rp.request("GET", "/oauth2/userinfo", headers=bearer)
        steps["userinfo"] = time.perf_counter() - t0
        if r.status != 200 or json.loads(r.body).get("email") != email:
            raise LoginFailed("userinfo", r)
        for step, seconds in steps.items():
            st.steps[step].append(seconds * 1000)

    async def run(self, duration: float, clients: int, st: RunStats | None = None) -> RunStats:
        st = st if st is not None else RunStats()
        stop_at = time.monotonic() + duration

        async def client(n: int) -> None:
            rp = Connection("127.0.0.1", self.port)  # the RP's keep-alive back channel
            i = n
            try:
                while time.monotonic() < stop_at:
                    email = self.emails[i % len(self.emails)]
                    i += clients
                    t0 = time.perf_counter()
                    try:
                        async with asyncio.timeout(LOGIN_TIMEOUT_S):
                            await self.login(rp, email, st)
                    except Exception as exc:  # every failure is counted, whatever its kind
                        kind = exc.kind if isinstance(exc, LoginFailed) else type(exc).__name__
                        st.errors[kind] += 1
                        if len(st.error_samples) < 5:
                            st.error_samples.append(str(exc)[:300] or repr(exc))
                        await rp.close()  # its state is unknown after a failure
                        continue
                    st.latencies.append((time.perf_counter() - t0) * 1000)
                    st.logins += 1
            finally:
                await rp.close()

        await asyncio.gather(*(client(n) for n in range(clients)))
        return st

    def meter(self) -> CpuMeter:
        assert self.proc is not None
        return CpuMeter(self.proc.pid, self.db if self.pg else None, PG_ADMIN)

    async def measure(self, duration: float, clients: int) -> dict[str, Any]:
        meter, st, sign0 = self.meter(), RunStats(), self.idp.sign_s
        meter.start()
        await self.run(duration, clients, st)
        meter.stop()
        return self.report(meter, st, sign0, clients)

    def report(self, meter: CpuMeter, st: RunStats, sign0: float, clients: int) -> dict[str, Any]:
        """The figures of the runs measured with ``meter`` into ``st`` (``sign0``: the IdP's
        signing seconds before them)."""
        sign_us = 1e6 * (self.idp.sign_s - sign0) / max(1, st.logins + sum(st.errors.values()))
        return {
            "duration_s": round(meter.wall, 2),
            "clients": clients,
            "logins": st.logins,
            "logins_per_s": round(st.logins / meter.wall, 1),
            "errors": sum(st.errors.values()),
            "error_kinds": dict(st.errors),
            "error_samples": st.error_samples,
            "login_ms": summary(st.latencies, 1),
            "step_ms": {s: summary(v, 2) for s, v in st.steps.items()},
            "idp_us_per_login": {
                "build_and_sign_p50": round(1000 * summary(st.steps["idp"], 6)["p50"], 1),
                "build_and_sign_p99": round(1000 * summary(st.steps["idp"], 6)["p99"], 1),
                "build_and_sign_cpu_mean": round(1e6 * st.idp_cpu_s / max(1, st.logins), 1),
                "rsa_sign_mean": round(sign_us, 1),
            },
            "cpu": meter.report(st.logins, st.idp_cpu_s),
        }
