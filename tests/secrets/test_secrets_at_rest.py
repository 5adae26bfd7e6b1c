"""Private keys at rest: sealed under the secret key, so a copied database or backup alone
does not yield them; rows an older version stored in clear keep working and are sealed at
the next start; ``propylon secrets rotate`` re-seals under a new key; the data directory and
the embedded database are owner-only; database errors carry no bound parameters."""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import stat
import subprocess
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select, update

from propylon.admin import saml_connections as operations_saml
from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from propylon.crypto.keyfile import KEY_FILE
from propylon.crypto.secretbox import SecretBox, SecretBoxError, new_key_text, parse_key
from propylon.db.migrate import upgrade
from propylon.db.tables import Tenant
from propylon.db.tables_saml import SamlConnection
from propylon.db.tables_sso import SigningKey
from propylon.oauth_store import signing_keys as keys
from propylon.runtime import Runtime, build_runtime
from propylon.settings import Settings
from propylon.tenants.saml_connections import IdpSource, load_connection, open_sp_key
from propylon.tenants.saml_keys import generate_sp_keypair
from tests.conftest import Backend, Server, start_server, stop_server
from tests.db.test_migrations import backend  # noqa: F401  (a fresh database per backend)
from tests.saml.idp import make_keypair

IDP = "http://idp.example.test/secrets"


async def _org_with_connection(rt: Runtime) -> str:
    """A tenant with a SAML connection (so an SP key is stored); the connection id."""
    slug = f"sec-{secrets.token_hex(4)}"
    await ops.create_tenant(rt, CLI, slug=slug, name="Sec", domains=[], seats=None)
    idp = make_keypair("secrets-idp")
    conn = await operations_saml.create_connection(
        rt,
        CLI,
        slug,
        IdpSource(sso_url=f"{IDP}/sso", idp_entity_id=IDP, certificates=(idp.cert,)),
    )
    return str(conn["connection_id"])


async def _stored(rt: Runtime, connection_id: str) -> tuple[dict[str, Any], str]:
    """The newest signing key's stored JWK column and the connection's stored SP key."""
    async with rt.db.read() as s:
        jwk = (
            await s.execute(
                select(SigningKey.private_jwk).order_by(SigningKey.active_from.desc()).limit(1)
            )
        ).scalar_one()
        sp_key = (
            await s.execute(
                select(SamlConnection.sp_private_key_pem).where(SamlConnection.id == connection_id)
            )
        ).scalar_one()
    return jwk, sp_key


async def test_a_copied_database_does_not_yield_the_private_keys(server: Server) -> None:
    rt = server.rt
    connection_id = await _org_with_connection(rt)
    async with httpx.AsyncClient(base_url=server.url) as c:
        published = (await c.get("/oauth2/jwks")).json()["keys"][0]
    stored_jwk, stored_sp = await _stored(rt, connection_id)
    kid = published["kid"]
    # what the stored columns would give away: nothing of the keys
    private_jwk = keys.open_jwk(rt.secret_box, kid, stored_jwk)
    assert set(stored_jwk) == {"sealed"}
    assert private_jwk["d"] not in json.dumps(stored_jwk)
    pem = open_sp_key(rt.secret_box, connection_id, stored_sp)
    assert pem.startswith("-----BEGIN PRIVATE KEY-----")
    body = "".join(pem.splitlines()[1:-1])
    assert "PRIVATE KEY" not in stored_sp and body[:40] not in stored_sp
    # another secret key opens neither, nor does the right key for another row
    other = SecretBox([parse_key(new_key_text())])
    with pytest.raises(SecretBoxError):
        keys.open_jwk(other, kid, stored_jwk)
    with pytest.raises(SecretBoxError):
        open_sp_key(other, connection_id, stored_sp)
    with pytest.raises(SecretBoxError):
        open_sp_key(rt.secret_box, "conn_another_row", stored_sp)
    # and the server signs with the sealed key: the JWK Set is its public part
    assert published["x"] == private_jwk["x"]
    assert {k: v for k, v in published.items() if k == "d"} == {}


async def test_keys_an_older_version_stored_in_clear_keep_working_and_are_sealed_at_start(
    backend: Backend,  # noqa: F811
) -> None:
    rt = build_runtime(backend.settings())
    try:
        await upgrade(rt.db)
        connection_id = await _org_with_connection(rt)
        now = datetime.now(UTC)
        kid, jwk = keys._generate(rt.settings.signing_alg)
        pem, _ = generate_sp_keypair("legacy", now)
        async with rt.db.write() as s:  # what an older version stored
            await s.execute(
                insert(SigningKey).values(
                    kid=kid, alg=jwk["alg"], private_jwk=jwk, created_at=now, active_from=now
                )
            )
            await s.execute(
                update(SamlConnection)
                .where(SamlConnection.id == connection_id)
                .values(sp_private_key_pem=pem)
            )
        async with rt.db.write() as s:  # still read as they are
            assert (await rt.signing_keys.active(s, rt.settings.signing_alg, now)).kid == kid
            record = await load_connection(s, connection_id)
        legacy_sp = rt.saml_keys.private_key(record)
        url, proc = start_server(backend)  # a start seals them
        try:
            async with httpx.AsyncClient(base_url=url) as c:
                published = (await c.get("/oauth2/jwks")).json()["keys"]
        finally:
            stop_server(proc)
        stored_jwk, stored_sp = await _stored(rt, connection_id)
        assert (
            set(stored_jwk) == {"sealed"} and keys.open_jwk(rt.secret_box, kid, stored_jwk) == jwk
        )
        assert open_sp_key(rt.secret_box, connection_id, stored_sp) == pem != stored_sp
        assert [k["kid"] for k in published] == [kid]
        async with rt.db.read() as s:
            resealed = await load_connection(s, connection_id)
        assert rt.saml_keys.private_key(resealed).private_numbers() == legacy_sp.private_numbers()
    finally:
        await rt.close()


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "propylon.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_secrets_rotate_reseals_every_key_under_the_first_secret_key(
    tmp_path: Path,
) -> None:
    old, new = new_key_text(), new_key_text()
    env = {"PROPYLON_DATA_DIR": str(tmp_path), "PROPYLON_LOG_LEVEL": "warning"}
    rt = build_runtime(Settings(data_dir=tmp_path, secret_key=old, log_level="warning"))
    try:
        await upgrade(rt.db)
        connection_id = await _org_with_connection(rt)
        async with rt.db.write() as s:
            signing = await rt.signing_keys.active(s, rt.settings.signing_alg, rt.clock())
    finally:
        await rt.close()
    # without the old key listed, nothing can be re-sealed: refused, nothing changed
    refused = _cli({**env, "PROPYLON_SECRET_KEY": new}, "secrets", "rotate", "--json")
    assert refused.returncode != 0
    assert SecretBox([parse_key(old)]).key_id in refused.stderr + refused.stdout
    out = _cli({**env, "PROPYLON_SECRET_KEY": f"{new},{old}"}, "secrets", "rotate", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["key_id"] == SecretBox([parse_key(new)]).key_id
    assert report["signing_keys"] == {"resealed": 1, "total": 1}
    assert report["saml_sp_keys"] == {"resealed": 1, "total": 1}
    # the new key alone now opens everything; the old one alone nothing
    rt = build_runtime(Settings(data_dir=tmp_path, secret_key=new, log_level="warning"))
    try:
        stored_jwk, stored_sp = await _stored(rt, connection_id)
        assert keys.open_jwk(rt.secret_box, signing.kid, stored_jwk)["kid"] == signing.kid
        open_sp_key(rt.secret_box, connection_id, stored_sp)
        with pytest.raises(SecretBoxError):
            open_sp_key(SecretBox([parse_key(old)]), connection_id, stored_sp)
    finally:
        await rt.close()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_the_data_directory_database_and_key_file_are_owner_only(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh"
        rt = build_runtime(Settings(data_dir=fresh, log_level="warning"))
        try:
            await upgrade(rt.db)  # the -wal and -shm exist while a connection is open
            db = fresh / "propylon.db"
            files = [db, Path(f"{db}-wal"), Path(f"{db}-shm"), fresh / KEY_FILE]
            assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}
            assert _mode(fresh) == 0o700
            key_id = rt.secret_box.key_id
        finally:
            await rt.close()
        # an older installation's looser modes are tightened on start; its key file is kept
        old = tmp_path / "old"
        old.mkdir(mode=0o755)
        db = old / "propylon.db"
        keep_open = sqlite3.connect(db)  # holds -wal and -shm in place
        try:
            keep_open.execute("PRAGMA journal_mode=WAL")
            keep_open.execute("CREATE TABLE t (x)")
            (old / KEY_FILE).write_text(new_key_text() + "\n")
            files = [db, Path(f"{db}-wal"), Path(f"{db}-shm"), old / KEY_FILE]
            for p in files:
                p.chmod(0o644)
            rt = build_runtime(Settings(data_dir=old, log_level="warning"))
            await rt.close()
            assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}
            assert _mode(old) == 0o700
        finally:
            keep_open.close()
        rt = build_runtime(Settings(data_dir=fresh, log_level="warning"))
        assert rt.secret_box.key_id == key_id  # the key file is read on later starts
        await rt.close()
    finally:
        os.umask(umask)


async def test_database_errors_carry_no_bound_parameters(server: Server) -> None:
    rt = server.rt
    needle = f"needle-{secrets.token_hex(6)}"
    now = datetime.now(UTC)
    values = {"name": needle, "created_at": now, "updated_at": now, "event_seq": 0}
    async with rt.db.write() as s:
        await s.execute(insert(Tenant).values(id=f"tn-{needle}", slug=f"a{needle}", **values))
    with pytest.raises(Exception) as caught:
        async with rt.db.write() as s:  # the same id again: an integrity error
            await s.execute(insert(Tenant).values(id=f"tn-{needle}", slug=f"b{needle}", **values))
    text = "".join(traceback.format_exception(caught.value))
    assert "IntegrityError" in text or "UniqueViolation" in text
    assert needle not in text
