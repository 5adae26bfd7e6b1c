"""The test IdP's keys are made once per installation and stored sealed: every process
(every runtime on the same database) signs with the same key, the private key is never
stored in clear, and a secret-key rotation re-seals it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from propylon.admin.secrets import rotate_secret_key
from propylon.audit import Actor
from propylon.crypto.secretbox import SecretBox, SecretBoxError, new_key_text, parse_key
from propylon.db.tables_testidp import TestIdpKey
from propylon.runtime import build_runtime
from propylon.settings import Settings
from propylon.testidp.identity import test_keys as keys_of_installation
from propylon.testidp.keys import PURPOSE, SUBJECT
from tests.conftest import drop_backend, make_backend


@pytest.mark.parametrize("backend_name", ["sqlite", "postgres"])
async def test_every_process_signs_with_the_one_stored_sealed_key(
    backend_name: str, tmp_path: Path
) -> None:
    backend = make_backend(backend_name, tmp_path)
    first = build_runtime(backend.settings())
    second = build_runtime(backend.settings())
    try:
        # two processes starting together: both may make keys, one set is kept by both
        a, b = await asyncio.gather(keys_of_installation(first), keys_of_installation(second))
        assert a.saml.certificate_der == b.saml.certificate_der
        assert a.oidc.certificate_der == b.oidc.certificate_der
        assert a.saml.certificate_der != a.oidc.certificate_der
        assert SUBJECT in a.saml.certificate.subject.rfc4514_string()
        # the wrong_key scenario's key is in no metadata: never stored, never the saml key
        assert a.wrong.certificate_der not in (a.saml.certificate_der, b.wrong.certificate_der)
        async with first.db.read() as s:
            rows = {r.purpose: r for r in (await s.scalars(select(TestIdpKey))).all()}
        assert sorted(rows) == ["oidc", "saml"]
        for purpose, row in rows.items():
            assert "PRIVATE KEY" not in row.private_key_pem  # sealed, never in clear
            assert "PRIVATE KEY" in first.secret_box.open_text(
                row.private_key_pem, PURPOSE, purpose
            )
    finally:
        await first.close()
        await second.close()
        drop_backend(backend)


async def test_a_secret_key_rotation_reseals_the_test_idp_keys(tmp_path: Path) -> None:
    old, new = new_key_text(), new_key_text()
    rt = build_runtime(Settings(data_dir=tmp_path, secret_key=old, log_level="warning"))
    try:
        from propylon.db.migrate import upgrade

        await upgrade(rt.db)
        before = await keys_of_installation(rt)
    finally:
        await rt.close()
    rt = build_runtime(Settings(data_dir=tmp_path, secret_key=f"{new},{old}", log_level="warning"))
    try:
        report = await rotate_secret_key(rt, Actor("cli"))
        assert report["test_idp_keys"] == {"resealed": 2, "total": 2}
    finally:
        await rt.close()
    rt = build_runtime(Settings(data_dir=tmp_path, secret_key=new, log_level="warning"))
    try:
        after = await keys_of_installation(rt)
        assert after.saml.certificate_der == before.saml.certificate_der
        async with rt.db.read() as s:
            row = await s.get(TestIdpKey, "saml")
        assert row is not None
        with pytest.raises(SecretBoxError):
            SecretBox([parse_key(old)]).open_text(row.private_key_pem, PURPOSE, "saml")
    finally:
        await rt.close()
