"""Benchmark: complete SP-initiated SAML logins per second, over HTTP on loopback, on
PostgreSQL + Redis.

Prints ONE JSON document on stdout (progress on stderr); exits 1 if any login failed. Run::

    python3 bench/saml_logins.py                # 20 s, 12 simulated browsers, 2 workers
    python3 bench/saml_logins.py --quick        # 3 s smoke run
    python3 bench/saml_logins.py --workers 1    # server worker processes (default 2)
    python3 bench/saml_logins.py --profile      # also py-spy the server workers

One login is what a browser, an IdP and a relying party do, in order:

1. browser ``GET /oauth2/authorize`` (login_hint) → 302 to ``/saml/{id}/login``;
2. browser ``GET /saml/{id}/login`` → 302 to the IdP with a deflated AuthnRequest;
3. IdP: inflates and parses the AuthnRequest, builds a Response to that very request ID and
   signs its Assertion (enveloped XML-DSig, exclusive c14n, RSA-SHA256, SHA-256 digest);
4. browser ``POST /saml/{id}/acs`` (SAMLResponse, RelayState) → 303 + ``propylon_session``;
5. browser ``GET`` that location (``/oauth2/authorize``, with the cookie) → 302 with a code;
6. relying party ``POST /oauth2/token`` (client_secret_basic) → 200 with an id_token.

Each login is a fresh browser: a new keep-alive connection for its four requests and an empty
cookie jar (connections that outlived a login would leave the server's workers loaded as
unevenly as they happened to accept them); each simulated client's RP keeps one connection.
The load generator is kept cheap so the figure measures Propylon, not the benchmark: a minimal
asyncio HTTP/1.1 client (the approach of ``scim_bench.py``) and an IdP that precomputes
everything not depending on the request (key, certificate, the canonical XML around the
per-login values) and per login only fills in the values, hashes the exclusive-c14n
Assertion, and signs the exclusive-c14n SignedInfo with ``cryptography``. At start-up one such
Response is verified with xmlsec (libxmlsec1, an independent XML-DSig implementation); during
the run the server must accept every login.

A Propylon server subprocess is started with its own PostgreSQL database and Redis key
prefix; both are removed at the end and the server is stopped by its pid. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import xmlsec
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from benchkit.http import Connection, Resp  # noqa: E402

from propylon.provider import apps  # noqa: E402
from propylon.runtime import build_runtime  # noqa: E402
from propylon.settings import Settings  # noqa: E402
from propylon.tenants import operations as ops  # noqa: E402
from propylon.tenants import operations_saml  # noqa: E402
from propylon.tenants.saml_connections import IdpSource  # noqa: E402
from tests.saml.idp import KeyPair, make_keypair  # noqa: E402

PG_ADMIN = os.environ.get("PROPYLON_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_BASE = PG_ADMIN.rsplit("/", 1)[0]
REDIS_URL = os.environ.get("PROPYLON_TEST_REDIS", "redis://127.0.0.1:6379/0")
IDP = "http://www.okta.com/exk-bench"
SSO = "https://bench.okta.test/app/sso/saml"
REDIRECT = "https://rp.example.com/callback"
USERS = 200
TARGET_LOGINS_PER_S = 200
LOGIN_TIMEOUT_S = 30.0
# pg_stat_database counters reported per login
PG_COUNTERS = (
    "sessions", "xact_commit", "xact_rollback", "tup_returned", "tup_fetched", "tup_inserted",
    "tup_updated", "tup_deleted",
)  # fmt: skip
STEPS = ("authorize", "saml_login", "idp", "acs", "authorize_code", "token")


def log(msg: str) -> None:
    print(f"[saml_logins {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def psql(sql: str) -> str:
    return subprocess.run(
        ["psql", PG_ADMIN, "-q", "-At", "-c", sql], check=True, capture_output=True, text=True
    ).stdout


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return 0.0
    s = sorted(xs)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def summary(xs: list[float], ndigits: int = 2) -> dict[str, float]:
    return {
        "p50": round(pct(xs, 50), ndigits),
        "p99": round(pct(xs, 99), ndigits),
        "mean": round(statistics.fmean(xs), ndigits) if xs else 0.0,
    }


# --------------------------------------------------------------------------------------------
# CPU accounting from /proc (the machine may be shared: report what each party burns)
# --------------------------------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_stat(pid: int) -> tuple[int, float, float] | None:
    """(parent pid, user s, system s) of one process, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 2 :].split()
    return int(fields[1]), int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def tree_cpu(root: int) -> dict[int, tuple[float, float]]:
    """pid -> (user, system) CPU seconds of ``root`` and its live descendants (the uvicorn
    supervisor, its workers and their helpers)."""
    stats = {
        int(d.name): proc_stat(int(d.name)) for d in Path("/proc").iterdir() if d.name.isdigit()
    }
    parents = {pid: st[0] for pid, st in stats.items() if st}
    out: dict[int, tuple[float, float]] = {}
    for pid, st in stats.items():
        x = pid
        while x and x != root and x in parents:
            x = parents[x]
        if st and x == root:
            out[pid] = (st[1], st[2])
    return out


def pids_cpu(pids: list[int]) -> dict[int, float]:
    out: dict[int, float] = {}
    for pid in pids:
        st = proc_stat(pid)
        if st:
            out[pid] = st[1] + st[2]
    return out


def system_cpu() -> tuple[float, float]:
    """(busy, total) jiffies over all cores from /proc/stat."""
    vals = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = vals[3] + vals[4]  # idle + iowait
    return float(sum(vals) - idle), float(sum(vals))


class CpuMeter:
    """Server-tree CPU, this process's CPU, the PostgreSQL backends serving the benchmark's
    database, and the machine-wide busy share over one interval."""

    def __init__(self, server_pid: int, db: str) -> None:
        self.server_pid, self.db = server_pid, db

    def _pg_pids(self) -> list[int]:
        out = psql(f"SELECT pid FROM pg_stat_activity WHERE datname = '{self.db}'")
        return [int(p) for p in out.split()]

    def _pg_counters(self) -> dict[str, int]:
        """The database's cumulative counters (flushed by each backend at most once a second,
        so a per-login figure over a 20 s run is close, not exact)."""
        cols = PG_COUNTERS
        out = psql(f"SELECT {', '.join(cols)} FROM pg_stat_database WHERE datname = '{self.db}'")
        return dict(zip(cols, (int(v) for v in out.strip().split("|")), strict=True))

    def start(self) -> None:
        self.pgc0 = self._pg_counters()
        self.pg0 = pids_cpu(self._pg_pids())
        self.srv0 = tree_cpu(self.server_pid)
        self.sys0 = system_cpu()
        self.me0 = time.process_time()
        self.load0 = os.getloadavg()[0]
        self.t0 = time.perf_counter()

    def stop(self) -> None:
        self.wall = time.perf_counter() - self.t0
        self.me = time.process_time() - self.me0
        b1, t1 = system_cpu()
        srv1 = tree_cpu(self.server_pid)
        delta = {
            pid: (u - self.srv0.get(pid, (0.0, 0.0))[0], s - self.srv0.get(pid, (0.0, 0.0))[1])
            for pid, (u, s) in srv1.items()
        }
        self.srv_user = sum(u for u, _ in delta.values())
        self.srv_sys = sum(s for _, s in delta.values())
        # how evenly the workers shared the load (keep-alive connections stay on one worker)
        self.per_process = sorted((round(u + s, 2) for u, s in delta.values()), reverse=True)
        pg1 = pids_cpu(self._pg_pids())
        self.pgc = {k: v - self.pgc0[k] for k, v in self._pg_counters().items()}
        # a backend first seen at the end was opened during the interval
        self.pg = sum(c - self.pg0.get(pid, 0.0) for pid, c in pg1.items())
        busy, total = b1 - self.sys0[0], t1 - self.sys0[1]
        self.busy = busy / total if total else 0.0
        self.load1 = os.getloadavg()[0]

    def report(self, logins: int, idp_cpu_s: float) -> dict[str, Any]:
        n = max(1, logins)
        ncpu = os.cpu_count() or 1
        server = self.srv_user + self.srv_sys
        machine = self.busy * ncpu * self.wall
        return {
            "server_cpu_ms_per_login": round(1000 * server / n, 2),
            "server_cpu_kernel_share": round(self.srv_sys / server, 3) if server else None,
            "server_cores_used": round(server / self.wall, 2),
            "server_cpu_s_per_process": self.per_process,
            "postgres_backends_cpu_ms_per_login": round(1000 * self.pg / n, 2),
            "postgres_backends_cores_used": round(self.pg / self.wall, 2),
            "postgres_per_login": {k: round(v / n, 2) for k, v in self.pgc.items()},
            "client_cpu_ms_per_login": round(1000 * self.me / n, 2),
            "client_idp_cpu_ms_per_login": round(1000 * idp_cpu_s / n, 3),
            "client_cores_used": round(self.me / self.wall, 2),
            "machine_busy_share_all_cores": round(self.busy, 3),
            "server_share_of_machine": round(server / (ncpu * self.wall), 3),
            "other_cpu_cores_redis_and_foreign": round(
                (machine - server - self.me - self.pg) / self.wall, 2
            ),
            "loadavg_1m_start_end": [round(self.load0, 2), round(self.load1, 2)],
        }


# --------------------------------------------------------------------------------------------
# A per-login cookie jar (the HTTP client is benchkit.http.Connection)
# --------------------------------------------------------------------------------------------


@dataclass
class CookieJar:
    """Host-only cookies of the one origin under test (all of Propylon's use ``Path=/``).
    ``Secure`` is moot over plain-http loopback; an expired/``Max-Age=0`` cookie is removed."""

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


# --------------------------------------------------------------------------------------------
# The IdP: Okta-style Response, Assertion signed per login with precomputed XML around it
# --------------------------------------------------------------------------------------------

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
DS = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
XS_DECL = ' xmlns:xs="http://www.w3.org/2001/XMLSchema"'

# The Assertion in exclusive-c14n form (Exc-C14N §3 / C14N §2): attributes in canonical
# order, no self-closing tags, only visibly used namespaces. ``{xs}`` is the xmlns:xs
# declaration Okta puts on AttributeValue: on the wire, but not in the canonical form (the
# prefix is used only inside an attribute value). The Signature goes right after the Issuer.
ASSERTION_HEAD = (
    f'<saml2:Assertion xmlns:saml2="{SAML}" ID="{{aid}}" IssueInstant="{{now}}" Version="2.0">'
    '<saml2:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">{issuer}'
    "</saml2:Issuer>"
)
ASSERTION_TAIL = (
    "<saml2:Subject>"
    '<saml2:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{email}'
    "</saml2:NameID>"
    '<saml2:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
    '<saml2:SubjectConfirmationData InResponseTo="{irt}" NotOnOrAfter="{exp}" '
    'Recipient="{acs}"></saml2:SubjectConfirmationData></saml2:SubjectConfirmation>'
    "</saml2:Subject>"
    '<saml2:Conditions NotBefore="{nbf}" NotOnOrAfter="{exp}"><saml2:AudienceRestriction>'
    "<saml2:Audience>{audience}</saml2:Audience></saml2:AudienceRestriction></saml2:Conditions>"
    '<saml2:AuthnStatement AuthnInstant="{now}" SessionIndex="{sidx}" '
    'SessionNotOnOrAfter="{session_end}"><saml2:AuthnContext><saml2:AuthnContextClassRef>'
    "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
    "</saml2:AuthnContextClassRef></saml2:AuthnContext></saml2:AuthnStatement>"
    "<saml2:AttributeStatement>"
    '<saml2:Attribute Name="email" '
    'NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified">'
    "<saml2:AttributeValue{xs} "
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">{email}'
    "</saml2:AttributeValue></saml2:Attribute></saml2:AttributeStatement></saml2:Assertion>"
)
# SignedInfo as exclusive c14n renders it as the apex (with xmlns:ds); on the wire the
# declaration sits on ds:Signature instead.
SIGNED_INFO_BODY = (
    f'<ds:CanonicalizationMethod Algorithm="{EXC_C14N}"></ds:CanonicalizationMethod>'
    '<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256">'
    '</ds:SignatureMethod><ds:Reference URI="#{aid}"><ds:Transforms>'
    f'<ds:Transform Algorithm="{DS}enveloped-signature"></ds:Transform>'
    f'<ds:Transform Algorithm="{EXC_C14N}"></ds:Transform></ds:Transforms>'
    '<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"></ds:DigestMethod>'
    "<ds:DigestValue>{digest}</ds:DigestValue></ds:Reference></ds:SignedInfo>"
)
SIGNATURE = (
    f'<ds:Signature xmlns:ds="{DS}"><ds:SignedInfo>{{signed_info_body}}'
    "<ds:SignatureValue>{value}</ds:SignatureValue><ds:KeyInfo><ds:X509Data>"
    "<ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
    "</ds:Signature>"
)
RESPONSE = (
    f'<saml2p:Response xmlns:saml2p="{SAMLP}" Destination="{{acs}}" ID="{{rid}}" '
    'InResponseTo="{irt}" IssueInstant="{now}" Version="2.0">'
    f'<saml2:Issuer xmlns:saml2="{SAML}" '
    'Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">{issuer}</saml2:Issuer>'
    '<saml2p:Status><saml2p:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>'
    "</saml2p:Status>{assertion}</saml2p:Response>"
)
_SAFE = re.compile(r"[^&<>\"'\r\n\t{}]*")


def iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


def literal(value: str) -> str:
    """A value used as-is in both the wire and the canonical form: refuse anything that the
    two would escape differently rather than escape it (the bench's values never need it)."""
    if not _SAFE.fullmatch(value):
        raise ValueError(f"value needs XML escaping: {value!r}")
    return value


class Idp:
    """Builds and signs the IdP's Response to one AuthnRequest.

    Per login: fill the per-login values into the canonical Assertion text, SHA-256 it (the
    enveloped-signature + exclusive c14n Reference), fill the digest into the canonical
    SignedInfo, RSA-SHA256 (PKCS#1 v1.5) sign that with ``cryptography``, and assemble the
    wire Response. The same XML-DSig profile ``tests/saml/idp.py`` produces with xmlsec.
    """

    def __init__(self, kp: KeyPair, *, issuer: str, acs: str, audience: str) -> None:
        assert isinstance(kp.key, rsa.RSAPrivateKey)
        self.key = kp.key
        self.pad, self.hash = padding.PKCS1v15(), hashes.SHA256()
        self.cert_pem = kp.cert.public_bytes(serialization.Encoding.PEM)
        fixed = {"issuer": literal(issuer), "acs": literal(acs), "audience": literal(audience)}
        cert_b64 = base64.b64encode(kp.cert.public_bytes(serialization.Encoding.DER)).decode()
        # fill the request-independent values once; what is left are per-login placeholders
        keep = {k: "{" + k + "}" for k in ("aid", "now", "email", "irt", "exp", "nbf", "sidx")}
        keep |= {"session_end": "{session_end}", "digest": "{digest}", "value": "{value}"}
        self.head = ASSERTION_HEAD.format(**fixed, **keep)
        self.tail_c14n = ASSERTION_TAIL.format(**fixed, **keep, xs="")
        self.tail_wire = ASSERTION_TAIL.format(**fixed, **keep, xs=XS_DECL)
        self.si_c14n = f'<ds:SignedInfo xmlns:ds="{DS}">' + SIGNED_INFO_BODY
        self.signature = SIGNATURE.format(
            signed_info_body=SIGNED_INFO_BODY, cert=cert_b64, value="{value}"
        )
        self.response = RESPONSE.format(**fixed, **keep, rid="{rid}", assertion="{assertion}")
        self.sign_s = 0.0  # wall seconds inside key.sign, summed

    def build(self, request_id: str, email: str) -> bytes:
        t = time.time()
        v = {
            "aid": "id" + secrets.token_hex(16),
            "now": iso(t),
            "nbf": iso(t - 300),
            "exp": iso(t + 300),
            "session_end": iso(t + 8 * 3600),
            "irt": literal(request_id),
            "email": literal(email),
            "sidx": "id" + secrets.token_hex(8),
        }
        head = self.head.format(**v)
        digest = hashlib.sha256((head + self.tail_c14n.format(**v)).encode()).digest()
        v["digest"] = base64.b64encode(digest).decode()
        signed_info = self.si_c14n.format(**v).encode()
        t0 = time.perf_counter()
        value = self.key.sign(signed_info, self.pad, self.hash)
        self.sign_s += time.perf_counter() - t0
        v["value"] = base64.b64encode(value).decode()
        assertion = head + self.signature.format(**v) + self.tail_wire.format(**v)
        return self.response.format(
            **v, rid="id" + secrets.token_hex(16), assertion=assertion
        ).encode()

    def self_check(self) -> None:
        """Verify one Response with xmlsec (the Assertion's digest and the signature) and
        compare our canonical SignedInfo with lxml's; a mismatch stops the benchmark."""
        xml = self.build("id-self-check", "self.check@example.com")
        root = etree.fromstring(xml)
        assertion = root.find(f"{{{SAML}}}Assertion")
        assert assertion is not None
        sig = assertion.find(f"{{{DS}}}Signature")
        assert sig is not None and sig.getprevious() is not None
        ctx = xmlsec.SignatureContext()
        ctx.key = xmlsec.Key.from_memory(self.cert_pem, xmlsec.constants.KeyDataFormatCertPem)
        ctx.register_id(assertion, "ID")
        ctx.verify(sig)  # raises xmlsec.VerificationError
        signed_info = sig[0]
        ours = self.si_c14n.format(
            aid=assertion.get("ID"), digest=signed_info.findtext(f".//{{{DS}}}DigestValue")
        ).encode()
        if etree.tostring(signed_info, method="c14n", exclusive=True) != ours:
            raise RuntimeError("SignedInfo template is not in exclusive c14n form")


# --------------------------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------------------------


def form_b64(value: str) -> str:
    """Form-encode base64 text (only ``+``, ``/`` and ``=`` need it); ``urlencode`` walks the
    ~6 kB SAMLResponse byte by byte in Python, which would cost more than the RSA signature."""
    return value.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")


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
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.db = f"propylon_bench_{secrets.token_hex(4)}"
        self.prefix = f"propylon-bench-{secrets.token_hex(4)}:"
        self.tmp = tempfile.mkdtemp(prefix="propylon-bench-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            "PROPYLON_DATABASE_URL": f"postgresql+asyncpg://{PG_BASE.split('://', 1)[1]}/{self.db}",
            "PROPYLON_REDIS_URL": REDIS_URL,
            "PROPYLON_REDIS_PREFIX": self.prefix,
            "PROPYLON_PUBLIC_URL": self.url,
            "PROPYLON_DATA_DIR": self.tmp,
            "PROPYLON_LOG_LEVEL": "warning",
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.db_created = False
        self.keypair = make_keypair("bench-idp")

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        psql(f'CREATE DATABASE "{self.db}"')
        self.db_created = True
        cmd = [sys.executable, "-m", "propylon.cli", "serve", "--host", "127.0.0.1"]
        cmd += ["--port", str(self.port), "--workers", str(self.args.workers)]
        self.proc = subprocess.Popen(
            cmd,
            env={**os.environ, **self.env},
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
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.db_created:
            try:
                psql(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
            except subprocess.CalledProcessError as exc:
                log(f"could not drop {self.db}: {exc}")
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
            await ops.create_tenant(
                rt, ops.CLI, slug=slug, name="Bench", domains=[domain], seats=None
            )
            d = await ops.create_directory(rt, ops.CLI, slug)
            conn = await operations_saml.create_connection(
                rt,
                ops.CLI,
                slug,
                IdpSource(sso_url=SSO, idp_entity_id=IDP, certificates=(self.keypair.cert,)),
            )
            app = await apps.create_app(
                rt,
                ops.CLI,
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
    def local(self, location: str) -> str:
        """A redirect target on the server under test, as a request-target."""
        if location.startswith(self.url + "/"):
            return location[len(self.url) :]
        if location.startswith("/"):
            return location
        raise LoginFailed("redirect", detail=f"off-site {location[:80]}")

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
        r = await get("saml_login", self.local(r.headers["location"]), 302)
        location = r.headers["location"]
        if not location.startswith(SSO + "?"):
            raise LoginFailed("saml_login", detail=f"not to the IdP: {location[:80]}")

        # the IdP: read the AuthnRequest (HTTP-Redirect binding), answer that very ID
        t0, c0 = time.perf_counter(), time.thread_time()
        q = parse_qs(urlsplit(location).query)
        request = etree.fromstring(zlib.decompress(base64.b64decode(q["SAMLRequest"][0]), -15))
        request_id = request.get("ID")
        if not request_id:
            raise LoginFailed("saml_login", detail="AuthnRequest without ID")
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
        r = await get("authorize_code", self.local(r.headers["location"]), 302)
        redirect = r.headers["location"]
        if not redirect.startswith(REDIRECT + "?"):
            raise LoginFailed("authorize_code", detail=f"not to the RP: {redirect[:80]}")
        answer = parse_qs(urlsplit(redirect).query)
        if answer.get("state") != ["s"] or "code" not in answer:
            raise LoginFailed("authorize_code", detail=f"no code/state: {redirect[:80]}")
        code = answer["code"][0]

        # the relying party's back channel, on its own connection (no browser cookies)
        body = urlencode(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
        ).encode()
        t0 = time.perf_counter()
        r = await rp.request("POST", "/oauth2/token", headers=self.rp_headers, body=body)
        steps["token"] = time.perf_counter() - t0
        if r.status != 200 or "id_token" not in json.loads(r.body):
            raise LoginFailed("token", r)
        for step, seconds in steps.items():
            st.steps[step].append(seconds * 1000)

    async def run(self, duration: float, clients: int) -> RunStats:
        st = RunStats()
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

    async def measure(self, duration: float, clients: int) -> dict[str, Any]:
        assert self.proc is not None
        meter = CpuMeter(self.proc.pid, self.db)
        sign0 = self.idp.sign_s
        meter.start()
        st = await self.run(duration, clients)
        meter.stop()
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
                "build_and_sign_p50": round(1000 * pct(st.steps["idp"], 50), 1),
                "build_and_sign_p99": round(1000 * pct(st.steps["idp"], 99), 1),
                "build_and_sign_cpu_mean": round(1e6 * st.idp_cpu_s / max(1, st.logins), 1),
                "rsa_sign_mean": round(sign_us, 1),
            },
            "cpu": meter.report(st.logins, st.idp_cpu_s),
        }


# --------------------------------------------------------------------------------------------
# --profile: py-spy the server workers during a run
# --------------------------------------------------------------------------------------------


def worker_pids(parent: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True).stdout
    kids = [int(p) for p in out.split()]
    return kids or [parent]


def _frame(frame: str) -> str:
    """``func (path/to/file.py:123)`` -> ``func (file)`` relative to site-packages or src."""
    func, _, loc = frame.partition(" (")
    loc = loc.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "lib/python3.11/", "src/"):
        if marker in loc:
            loc = loc.split(marker, 1)[1]
            break
    return f"{func} ({loc})"


def _package(frame: str) -> str:
    loc = frame.split(" (", 1)[1]
    if loc.startswith("<sqlalchemy"):
        return "sqlalchemy"
    if loc.startswith("asyncio/runners.py"):
        # the loop's own frame as leaf: C code called from the loop, with no Python frame
        return "event loop in C (uvloop, httptools, asyncpg protocol, sockets)"
    return loc.split("/", 1)[0] if "/" in loc else "stdlib (single-file modules)"


# py-spy counts a worker as busy whenever its thread is runnable. On a machine with more
# runnable processes than cores a worker that has just written to a socket is often
# preempted by the process it woke (PostgreSQL, Redis, the client) and then waits for a core
# with its stack still at that write: such samples are not the server's CPU. These leaves
# are those hand-off points (`perf` puts asyncpg's own C code at ~2% of the workers' CPU).
HANDOFF_LEAVES = (
    " (asyncpg/",  # awaiting PostgreSQL right after sending the query
    "StreamWriter.writelines (asyncio/streams.py)",  # redis-py sending a command
    "RequestResponseCycle.send (uvicorn/",  # the response written to the client
    "Connection._recv (multiprocessing/",  # uvicorn's worker-to-supervisor pipe
)
ENDPOINT_CALLER = "run_endpoint_function (fastapi/routing.py)"


def _bucket(frames: list[str]) -> str:
    """Where one on-CPU sample went: the endpoint fastapi called, else what kind of work.

    SQLAlchemy's async layer runs ORM/Core code in a greenlet whose stack py-spy sees without
    the coroutine that awaits it, so that work is its own bucket (it belongs to endpoints)."""
    if ENDPOINT_CALLER in frames[:-1]:
        return frames[frames.index(ENDPOINT_CALLER) + 1]
    if _package(frames[-1]).startswith("event loop"):
        return "(event loop in C: uvloop, httptools, asyncpg protocol, sockets)"
    if _package(frames[0]) == "sqlalchemy":
        return "(SQLAlchemy in a greenlet: ORM/Core work of some endpoint)"
    if frames[0].startswith("<module> ("):
        return "(HTTP, routing, middleware, request body, response send)"
    return "(other: coroutines resumed without their caller, threads)"


def _perf_by_dso(path: Path) -> dict[str, float]:
    """``perf report --sort dso``: share of on-CPU samples per binary (kernel included)."""
    out = subprocess.run(
        ["perf", "report", "-i", str(path), "--sort", "dso", "--stdio", "-q"],
        capture_output=True,
        text=True,
    ).stdout
    shares: dict[str, float] = {}
    for line in out.splitlines():
        share, _, dso = line.strip().partition("%")
        with contextlib.suppress(ValueError):
            if float(share) >= 0.3:
                shares[dso.strip()] = float(share)
    return shares


def profile(pids: list[int], seconds: int, out_dir: Path) -> dict[str, Any]:
    """py-spy each server process (raw collapsed stacks) and, if available, ``perf`` them
    all (true on-CPU samples, per binary). Shares are percent of the py-spy samples left after
    dropping the hand-off samples (see HANDOFF_LEAVES): per endpoint (the frame fastapi calls;
    the rest is HTTP, routing, middleware and the loop), per package of the innermost frame,
    the hottest self frames and Propylon's hottest inclusive frames."""
    rate = 200
    spies = []
    for pid in pids:
        out = out_dir / f"pyspy-{pid}.txt"
        cmd = ["py-spy", "record", "--pid", str(pid), "--duration", str(seconds)]
        cmd += ["--rate", str(rate), "--format", "raw", "--output", str(out), "--nonblocking"]
        spies.append(
            (out, subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        )
    perf_data = out_dir / "perf.data"
    perf = None
    if shutil.which("perf"):
        cmd = ["perf", "record", "-q", "-e", "cpu-clock", "-F", "499", "-o", str(perf_data)]
        cmd += ["-p", ",".join(map(str, pids)), "--", "sleep", str(seconds)]
        perf = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    self_c: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    pkg: Counter[str] = Counter()
    endpoint: Counter[str] = Counter()
    handoff: Counter[str] = Counter()
    for out, p in spies:
        try:
            p.wait(timeout=seconds + 60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        if not out.exists():
            continue
        for line in out.read_text().splitlines():
            stack, _, n_s = line.rpartition(" ")
            if not n_s.isdigit():
                continue
            frames = [_frame(f) for f in stack.split(";") if "(" in f]
            if not frames:
                continue
            n = int(n_s)
            if any(h in frames[-1] for h in HANDOFF_LEAVES):
                handoff[frames[-1]] += n
                continue
            self_c[frames[-1]] += n
            pkg[_package(frames[-1])] += n
            endpoint[_bucket(frames)] += n
            for f in set(frames):
                incl[f] += n
    on_cpu = sum(self_c.values())
    total = on_cpu + sum(handoff.values())

    def shares(c: Counter[str], top: int, of: int = on_cpu) -> dict[str, float]:
        return {k: round(100 * v / max(1, of), 1) for k, v in c.most_common(top)}

    result: dict[str, Any] = {
        "tool": f"py-spy record --rate {rate} --format raw --nonblocking, per server process",
        "samples_total": total,
        "samples_handoff_dropped": total - on_cpu,
        "on_cpu_cores_estimate": round(on_cpu / rate / seconds, 2),
        "handoff_leaves_pct_of_all_samples": shares(handoff, 6, total),
        "by_endpoint_pct": shares(endpoint, 12),
        "by_package_self_pct": shares(pkg, 15),
        "top_self_pct": shares(self_c, 25),
        "top_inclusive_propylon_pct": shares(
            Counter({k: v for k, v in incl.items() if "(propylon" in k}), 40
        ),
    }
    if perf is not None:
        try:
            perf.wait(timeout=seconds + 60)
        except subprocess.TimeoutExpired:
            perf.kill()
            perf.wait()
        if perf_data.exists():
            result["perf_on_cpu_by_binary_pct"] = _perf_by_dso(perf_data)
    return result


async def profile_run(bench: Bench, args: argparse.Namespace) -> dict[str, Any]:
    """A further measured run with the server's processes profiled for its middle seconds."""
    assert bench.proc is not None
    pids = worker_pids(bench.proc.pid)
    log(f"profiling server processes {pids}")
    seconds = 5 if args.quick else 10
    task = asyncio.create_task(bench.measure(seconds + 2, args.clients))
    await asyncio.sleep(1)
    out_dir = Path(tempfile.mkdtemp(prefix="saml-logins-profile-"))
    prof = await asyncio.to_thread(profile, pids, seconds, out_dir)
    prof["raw_stacks_dir"] = str(out_dir)
    under = await task
    prof["logins_per_s_under_profiler"] = under["logins_per_s"]
    prof["errors_under_profiler"] = under["errors"]
    prof["server_cores_used_measured"] = under["cpu"]["server_cores_used"]
    ms = under["cpu"]["server_cpu_ms_per_login"]
    prof["server_cpu_ms_per_login_under_profiler"] = ms
    prof["by_endpoint_ms_per_login"] = {
        k: round(v / 100 * ms, 2) for k, v in prof["by_endpoint_pct"].items()
    }
    return prof


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    bench = Bench(args)
    try:
        log(f"starting server on {bench.url} ({args.workers} workers), db {bench.db}")
        bench.start()
        await bench.setup()
        log("IdP self-check passed (xmlsec verifies the Response); warm-up")
        warm = await bench.run(2 if args.quick else 3, args.clients)
        duration = 3.0 if args.quick else args.duration
        log(f"measuring {duration} s with {args.clients} clients")
        result: dict[str, Any] = {
            "benchmark": "saml_sp_initiated_logins",
            "backend": "postgresql+redis",
            "client": "asyncio HTTP/1.1: a connection per login (browser), one per client (RP)",
            "idp_signature": "enveloped, exc-c14n, RSA-2048 PKCS#1 v1.5 SHA-256, SHA-256 digest",
            "server_workers": args.workers,
            "cpus": os.cpu_count(),
            "target_logins_per_s": TARGET_LOGINS_PER_S,
            "warmup_errors": sum(warm.errors.values()),
            **await bench.measure(duration, args.clients),
        }
        result["target_met"] = result["logins_per_s"] >= TARGET_LOGINS_PER_S
        if args.profile:
            assert bench.proc is not None
            if not shutil.which("py-spy"):
                result["profile"] = {"skipped": "py-spy not installed"}
            else:
                result["profile"] = await profile_run(bench, args)
        return result
    finally:
        bench.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="3 s smoke run")
    ap.add_argument("--duration", type=float, default=20.0, help="measured seconds")
    ap.add_argument("--clients", type=int, default=12, help="concurrent simulated browsers")
    ap.add_argument("--workers", type=int, default=2, help="server worker processes")
    ap.add_argument("--profile", action="store_true", help="py-spy the server workers")
    args = ap.parse_args()
    result = asyncio.run(amain(args))
    print(json.dumps(result, indent=2))
    failed = (
        result["errors"]
        + result["warmup_errors"]
        + result.get("profile", {}).get("errors_under_profiler", 0)
    )
    if failed or not result["logins"]:
        log(f"FAILED: {failed} failed logins, {result['logins']} ok: {result['error_kinds']}")
        sys.exit(1)


if __name__ == "__main__":
    main()
