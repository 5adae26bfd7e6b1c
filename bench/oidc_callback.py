"""Benchmark: server CPU per sign-in at the OpenID Connect callback, beside the SAML ACS's,
in the same run against the same embedded server (SQLite, one worker).

Prints ONE JSON document on stdout (progress on stderr). Run::

    python3 bench/oidc_callback.py               # 6 rounds of 60 sign-ins per protocol
    python3 bench/oidc_callback.py --rounds 2 --batch 20

What is measured is the Propylon process tree's CPU time (``/proc/<pid>/stat`` user+system,
``benchkit.measure.tree_cpu``) over a batch of callbacks fired one after another, divided by
the batch size; the steps before (the authorization request, the IdP's work) are prepared
outside the measured window, so the figure is the cost of consuming the IdP's answer only:

- OIDC callback: the pending cookie opened, the RFC 9207 ``iss`` check, the code exchanged
  at the OP's token endpoint (an HTTP POST over loopback, client_secret_basic), the RS256
  ID token validated (signature, issuer, audience, times, nonce), remembered once, the user
  found, the session staged and published, the audit entry, and the app's code issued.
- SAML ACS: the signed Response validated (XML-DSig RSA-SHA256), the assertion id remembered,
  the user found, session, audit and code: the same work after validation.

The OP is ``tests/oidc_signin/op.py`` in this process (threads on loopback), and the SAML
IdP is ``bench/loginbench/idp.py``: their CPU is the benchmark's, not the server's. Rounds
alternate the two protocols so they share whatever load the machine has. Loopback only; the
server and its data directory are removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import http.cookiejar
import json
import statistics
import sys
import time
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402
from benchkit.measure import code_version, log, tree_cpu  # noqa: E402
from loginbench.flow import REDIRECT, SSO, Bench  # noqa: E402
from lxml import etree  # noqa: E402

from propylon.runtime import build_runtime  # noqa: E402
from propylon.settings import Settings  # noqa: E402
from tests.oidc_signin.op import LoopbackOp  # noqa: E402

CLIENT_SECRET = "bench-oidc-secret"


def _loopback_is_secure(policy: Any, cookie: Any, request: Any) -> bool:
    """Browsers send ``Secure`` cookies to ``http://127.0.0.1`` (W3C Secure Contexts §3.1);
    the stdlib cookie jar httpx uses does not (as ``tests/conftest.py`` patches it)."""
    if not cookie.secure or request.type in policy.secure_protocols:
        return True
    return (request.host or "").rsplit(":", 1)[0] in ("127.0.0.1", "localhost")


http.cookiejar.DefaultCookiePolicy.return_ok_secure = _loopback_is_secure  # type: ignore[method-assign]


async def add_oidc_connection(bench: Bench, op: LoopbackOp) -> tuple[str, str]:
    """An OIDC connection of the bench tenant to ``op``; its id and client id."""
    from sqlalchemy import select

    from propylon.db.tables import Tenant
    from propylon.db.tables_oidc import OidcConnection
    from propylon.tenants.attribute_maps import build_map
    from propylon.tenants.oidc_connections import seal_client_secret

    fields = {k.removeprefix("PROPYLON_").lower(): v for k, v in bench.env.items()}
    rt = build_runtime(Settings(**fields))
    conn_id, client_id = "oidc_bench", "bench-oidc-client"
    try:
        now = rt.clock()
        async with rt.db.write() as s:
            tenant_id = await s.scalar(select(Tenant.id).where(Tenant.slug == "bench"))
            s.add(
                OidcConnection(
                    id=conn_id,
                    tenant_id=tenant_id,
                    name="bench OP",
                    issuer=op.issuer,
                    client_id=client_id,
                    client_secret=seal_client_secret(rt.secret_box, conn_id, CLIENT_SECRET),
                    private_key_pem=None,
                    auth_method="client_secret_basic",
                    scopes=["openid", "email"],
                    trusted_audiences=[],
                    preset="generic",
                    claim_map=build_map("generic"),
                    use_userinfo=False,
                    jit=False,
                    match_by="email",
                    created_at=now,
                    updated_at=now,
                )
            )
    finally:
        await rt.close()
    return conn_id, client_id


async def prepare_oidc(
    bench: Bench, op: LoopbackOp, conn_id: str, email: str
) -> tuple[httpx.AsyncClient, str]:
    """A browser holding a started OIDC login and the callback URL the OP sent it to."""
    browser = httpx.AsyncClient(base_url=bench.url, timeout=30)
    op.claims = {"sub": "bench-" + email, "email": email, "email_verified": True}
    return_to = bench.authorize[email]
    r = await browser.get(f"/oidc/{conn_id}/login", params={"return_to": return_to})
    if r.status_code != 302:
        raise RuntimeError(f"OIDC start: {r.status_code} {r.text[:200]}")
    async with httpx.AsyncClient(timeout=30) as op_side:
        back = await op_side.get(r.headers["location"])
    loc = urlsplit(back.headers["location"])
    return browser, loc.path + "?" + loc.query


async def prepare_saml(bench: Bench, email: str) -> tuple[httpx.AsyncClient, bytes]:
    """A browser holding a started SAML login and the signed Response form to post."""
    browser = httpx.AsyncClient(base_url=bench.url, timeout=30)
    r = await browser.get(bench.authorize[email])
    location = r.headers.get("location", "")
    if r.status_code != 302 or not location.startswith(SSO):
        raise RuntimeError(f"SAML start: {r.status_code} {location[:80]}")
    q = parse_qs(urlsplit(location).query)
    request = etree.fromstring(zlib.decompress(base64.b64decode(q["SAMLRequest"][0]), -15))
    response = base64.b64encode(bench.idp.build(request.get("ID"), email)).decode()
    form = urlencode({"SAMLResponse": response, "RelayState": q["RelayState"][0]}).encode()
    return browser, form


def _done(r: httpx.Response, what: str) -> None:
    if r.status_code not in (302, 303) or not r.headers.get("location", "").startswith(REDIRECT):
        raise RuntimeError(f"{what} did not sign in: {r.status_code} {r.text[-600:]}")


async def measure_round(
    bench: Bench, op: LoopbackOp, conn_id: str, batch: int
) -> dict[str, tuple[float, float]]:
    """Server CPU seconds and wall seconds of ``batch`` callbacks of each protocol."""
    assert bench.proc is not None
    pid = bench.proc.pid
    emails = bench.emails[:batch]
    out: dict[str, tuple[float, float]] = {}
    oidc = [await prepare_oidc(bench, op, conn_id, e) for e in emails]
    u0, s0 = tree_cpu(pid)
    t0 = time.perf_counter()
    for browser, callback in oidc:
        _done(await browser.get(callback), "OIDC callback")
    u1, s1 = tree_cpu(pid)
    out["oidc_callback"] = (u1 + s1 - u0 - s0, time.perf_counter() - t0)
    saml = [await prepare_saml(bench, e) for e in emails]
    u0, s0 = tree_cpu(pid)
    t0 = time.perf_counter()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    for browser, form in saml:
        _done(await browser.post(bench.acs_path, content=form, headers=headers), "SAML ACS")
    u1, s1 = tree_cpu(pid)
    out["saml_acs"] = (u1 + s1 - u0 - s0, time.perf_counter() - t0)
    for browser, _ in oidc + saml:  # type: ignore[operator]
        await browser.aclose()
    return out


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    op = LoopbackOp()
    bench = Bench(argparse.Namespace(workers=1), backend="sqlite", workers=1)
    bench.env["PROPYLON_OUTBOUND_ALLOW_PRIVATE_HOSTS"] = "true"
    bench.env["PROPYLON_SIGN_IN_START_RATE_LIMIT_PER_MINUTE"] = "100000000"
    try:
        bench.start()
        await bench.setup()
        conn_id, _ = await add_oidc_connection(bench, op)
        log("warm-up")
        await measure_round(bench, op, conn_id, 5)
        per: dict[str, list[float]] = {"oidc_callback": [], "saml_acs": []}
        wall: dict[str, list[float]] = {"oidc_callback": [], "saml_acs": []}
        for n in range(args.rounds):
            log(f"round {n + 1}/{args.rounds}")
            for name, (cpu, seconds) in (
                await measure_round(bench, op, conn_id, args.batch)
            ).items():
                per[name].append(1000 * cpu / args.batch)
                wall[name].append(1000 * seconds / args.batch)
    finally:
        bench.stop()
        op.close()
    result: dict[str, Any] = {
        "what": "server CPU (user+system, process tree) per sign-in at the callback/ACS, "
        "embedded mode (SQLite), one worker, sequential",
        "rounds": args.rounds,
        "sign_ins_per_round_and_protocol": args.batch,
        "code": code_version(),
    }
    for name in per:
        result[name] = {
            "server_cpu_ms_per_sign_in_median": round(statistics.median(per[name]), 2),
            "server_cpu_ms_per_sign_in_rounds": [round(x, 2) for x in per[name]],
            "wall_ms_per_sign_in_median": round(statistics.median(wall[name]), 2),
        }
    result["oidc_over_saml_cpu"] = round(
        result["oidc_callback"]["server_cpu_ms_per_sign_in_median"]
        / result["saml_acs"]["server_cpu_ms_per_sign_in_median"],
        3,
    )
    result["loadavg_1min"] = float(Path("/proc/loadavg").read_text().split()[0])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--batch", type=int, default=60)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(amain(args)), indent=2))


if __name__ == "__main__":
    main()
