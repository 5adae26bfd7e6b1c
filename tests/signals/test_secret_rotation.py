"""``propylon secrets rotate`` re-seals Shared Signals streams' ``authorization_header``
under the new secret key with the other secrets (``admin/secrets.py``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from propylon.admin import ssf_streams
from propylon.admin.audited import CLI
from propylon.crypto.secretbox import new_key_text
from propylon.db.migrate import upgrade
from propylon.db.tables_signals import SsfStream
from propylon.runtime import build_runtime
from propylon.settings import Settings
from propylon.signals.streams import authorization


async def test_secrets_rotate_reseals_ssf_stream_authorization_headers(tmp_path: Path) -> None:
    old, new = new_key_text(), new_key_text()
    rt = build_runtime(Settings(data_dir=tmp_path, secret_key=old, log_level="warning"))
    try:
        await upgrade(rt.db)
        delivery = {
            "method": "urn:ietf:rfc:8935",
            "endpoint_url": "https://receiver.example.com/events",
            "authorization_header": "Bearer rx-secret",
        }
        stream = await ssf_streams.create_stream(rt, CLI, {"delivery": delivery})
        async with rt.db.read() as s:
            before = await s.get(SsfStream, stream["stream_id"])
            assert before is not None and "rx-secret" not in str(before.authorization_header)
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
    assert json.loads(out.stdout)["ssf_stream_authorizations"] == {"resealed": 1, "total": 1}
    rt = build_runtime(Settings(data_dir=tmp_path, secret_key=new, log_level="warning"))
    try:
        async with rt.db.read() as s:
            row = await s.get(SsfStream, stream["stream_id"])
            assert row is not None
            assert authorization(rt.secret_box, row) == "Bearer rx-secret"
    finally:
        await rt.close()
