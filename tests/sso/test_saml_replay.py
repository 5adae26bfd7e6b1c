"""An accepted assertion id is remembered in the database until the assertion expires (SAML
Profiles §4.1.4.5): not in Redis alone, which forgets it when it restarts without
persistence; ``propylon purge`` removes the expired ones."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from propylon.runtime import build_runtime
from propylon.signin.saml_replay import remember_assertion
from tests.conftest import Server, drop_backend, free_port, make_backend, start_server, stop_server
from tests.http.test_scim_users import user_body
from tests.sso.test_saml_idp_initiated import refusals, unsolicited_response
from tests.sso.test_saml_pysaml2 import RSA_SHA256, Idp, login, new_idp

pytestmark = pytest.mark.skipif(
    shutil.which("xmlsec1") is None or shutil.which("redis-server") is None,
    reason="needs xmlsec1 and redis-server",
)


def start_redis(port: int) -> subprocess.Popen[bytes]:
    """A Redis of this test's own, without persistence (no RDB snapshot, no AOF)."""
    args = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(
        ["redis-server", *args, "--dir", "/tmp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        ping = subprocess.run(
            ["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True, check=False
        )
        if ping.stdout.strip() == "PONG":
            return proc
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")


def stop_redis(proc: subprocess.Popen[bytes]) -> None:
    proc.kill()
    proc.wait(timeout=10)


async def _login(server: Server, idp: Idp, response: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        return await browser.post(idp.acs_path, data={"SAMLResponse": response})


@pytest.fixture
async def with_own_redis(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[Server, int, list[subprocess.Popen[bytes]]]]:
    """PostgreSQL (a database of its own) and a Redis of its own the test may restart."""
    port = free_port()
    redis = [start_redis(port)]
    backend = make_backend("postgres", tmp_path_factory.mktemp("replay"))
    backend.env["PROPYLON_REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    url, proc = start_server(backend)
    rt = build_runtime(backend.settings().model_copy(update={"public_url": url}))
    try:
        yield Server(backend, url, proc, rt), port, redis
    finally:
        await rt.close()
        stop_server(proc)
        drop_backend(backend)
        stop_redis(redis[-1])


async def test_assertion_replayed_after_a_redis_restart_is_refused(
    with_own_redis: tuple[Server, int, list[subprocess.Popen[bytes]]], tmp_path: Path
) -> None:
    server, port, redis = with_own_redis
    idp = await new_idp(server, tmp_path, "--allow-idp-initiated", "--idp-initiated-app", "{app}")
    email = f"ada@{idp.domain}"
    await idp.scim.post("/Users", json=user_body(email))
    response = unsolicited_response(idp, email)
    assert (await _login(server, idp, response)).status_code == 303
    stop_redis(redis.pop())  # every key is gone: nothing was persisted
    redis.append(start_redis(port))
    second = await _login(server, idp, response)
    assert second.status_code == 400 and "set-cookie" not in second.headers, second.text
    assert "already used" in second.text
    assert refusals(server, idp) == ["assertion_replayed"]


async def test_assertion_id_is_accepted_once_and_purged_after_expiry(
    server: Server, tmp_path: Path
) -> None:
    """Both backends (SQLite without Redis): the second post of one Response is refused;
    ``propylon purge`` removes an expired id and keeps a live one."""
    idp = await new_idp(server, tmp_path, "--allow-idp-initiated", "--idp-initiated-app", "{app}")
    email = f"ada@{idp.domain}"
    await idp.scim.post("/Users", json=user_body(email))
    response = unsolicited_response(idp, email)
    assert (await _login(server, idp, response)).status_code == 303
    assert (await _login(server, idp, response)).status_code == 400
    assert refusals(server, idp) == ["assertion_replayed"]

    now = server.rt.clock()
    async with server.rt.db.write() as s:
        assert await remember_assertion(s, idp.cid, "_old", now - timedelta(minutes=1), now)
    async with server.rt.db.write() as s:  # an expired row does not refuse a new assertion
        assert await remember_assertion(s, idp.cid, "_old", now - timedelta(seconds=1), now)
    purged = server.cli_json("purge")["expired"]
    assert purged["saml_assertion_ids"] >= 1
    async with server.rt.db.write() as s:
        later = now + timedelta(hours=1)
        assert await remember_assertion(s, idp.cid, "_old", later, now)  # it was purged
        assert not await remember_assertion(s, idp.cid, "_old", later, now)  # live: a replay
    assert (await _login(server, idp, response)).status_code == 400  # the live one stayed


async def test_logout_request_replayed_after_a_redis_restart_is_refused(
    with_own_redis: tuple[Server, int, list[subprocess.Popen[bytes]]], tmp_path: Path
) -> None:
    """SAML Core §3.7.3.2: an IdP's LogoutRequest is processed once, remembered in the
    database like an assertion id, so a Redis restart does not make it new again."""
    from saml2 import BINDING_HTTP_REDIRECT
    from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID

    server, port, redis = with_own_redis
    idp = await new_idp(server, tmp_path)
    email = f"slo@{idp.domain}"
    await idp.scim.post("/Users", json=user_body(email))
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        await login(server, browser, idp, email, sign_assertion=True)
        slo_url = idp.connection["slo_url"]
        _id, request = idp.server.create_logout_request(
            destination=slo_url,
            issuer_entity_id=idp.connection["sp_entity_id"],
            name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=email),
            sign=False,
        )
        signed = idp.server.apply_binding(
            BINDING_HTTP_REDIRECT, str(request), slo_url, "rs1", sign=True, sigalg=RSA_SHA256
        )
        location = urlsplit(dict(signed["headers"])["Location"])
        path = location.path + "?" + location.query
        assert (await browser.get(path)).status_code == 302
        stop_redis(redis.pop())  # every key is gone: nothing was persisted
        redis.append(start_redis(port))
        again = await browser.get(path)
        assert again.status_code == 400, again.text
    rows = server.cli_json("audit", "list", idp.slug, "--action", "sso.saml.logout")
    assert ("failure", "logout_request_replayed") in {(r["outcome"], r["reason"]) for r in rows}
