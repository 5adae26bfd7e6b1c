"""``propylon secrets rotate`` re-seals OIDC connections' client secrets and private keys
under the new secret key with the rest (``admin/secrets.py``); a connection holds one of the
two, the other column empty, and empty columns are left alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from propylon.crypto.secretbox import (
    CLIENT_SECRET,
    OIDC_CLIENT_KEY,
    SecretBox,
    SecretBoxError,
    new_key_text,
    parse_key,
)
from propylon.db.migrate import upgrade
from propylon.db.tables_oidc import OidcConnection
from propylon.runtime import Runtime, build_runtime
from propylon.settings import Settings
from propylon.tenants.oidc_client_rules import client_key
from propylon.tenants.oidc_connections import seal_client_key, seal_client_secret
from propylon.tenants.oidc_presets import build_claim_map
from tests.oidc_conn.helpers import ec_key, key_file

SECRET = "rotated-client-s3cret"


async def _connections(rt: Runtime, key_pem: str) -> tuple[str, str]:
    """Two connections of a new tenant (stored directly: no OP to discover here), one with a
    client secret, one with a private key."""
    tenant = await ops.create_tenant(rt, CLI, slug="rot", name="Rot", domains=[], seats=None)
    now, box = rt.clock(), rt.secret_box
    ids = ("oidc_secretholder", "oidc_keyholder")
    async with rt.db.write() as s:
        for cid, secret, key in ((ids[0], SECRET, None), (ids[1], None, key_pem)):
            s.add(
                OidcConnection(
                    id=cid,
                    tenant_id=tenant.id,
                    name=cid,
                    issuer="https://idp.example",
                    client_id="rp",
                    client_secret=seal_client_secret(box, cid, secret) if secret else None,
                    private_key_pem=seal_client_key(box, cid, key) if key else None,
                    auth_method="private_key_jwt" if key else "client_secret_basic",
                    scopes=["openid"],
                    trusted_audiences=[],
                    preset="generic",
                    claim_map=build_claim_map("generic"),
                    created_at=now,
                    updated_at=now,
                )
            )
    return ids


async def test_secrets_rotate_reseals_oidc_client_secrets_and_keys(tmp_path: Path) -> None:
    old, new = new_key_text(), new_key_text()
    key_pem = client_key(key_file(tmp_path, ec_key()).read_text()).pem
    rt = build_runtime(Settings(data_dir=tmp_path, secret_key=old, log_level="warning"))
    try:
        await upgrade(rt.db)
        secret_id, key_id = await _connections(rt, key_pem)
    finally:
        await rt.close()
    env = {
        **os.environ,
        "PROPYLON_DATA_DIR": str(tmp_path),
        "PROPYLON_LOG_LEVEL": "warning",
        "PROPYLON_SECRET_KEY": f"{new},{old}",
    }
    out = subprocess.run(
        [sys.executable, "-m", "propylon.cli", "secrets", "rotate", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["oidc_client_secrets"] == {"resealed": 1, "total": 1}
    assert report["oidc_client_keys"] == {"resealed": 1, "total": 1}
    rt = build_runtime(Settings(data_dir=tmp_path, secret_key=new, log_level="warning"))
    try:
        async with rt.db.read() as s:
            rows = {r.id: r for r in (await s.scalars(select(OidcConnection))).all()}
        sealed_secret = rows[secret_id].client_secret
        sealed_key = rows[key_id].private_key_pem
        assert sealed_secret is not None and sealed_key is not None
        assert rt.secret_box.open_text(sealed_secret, CLIENT_SECRET, secret_id) == SECRET
        assert rt.secret_box.open_text(sealed_key, OIDC_CLIENT_KEY, key_id) == key_pem
        with pytest.raises(SecretBoxError):
            SecretBox([parse_key(old)]).open_text(sealed_secret, CLIENT_SECRET, secret_id)
    finally:
        await rt.close()
