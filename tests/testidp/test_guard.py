"""When the test IdP runs: off by default (every /test-idp/ URL is 404), refused in
production mode (PostgreSQL configured) unless forced, allowed on the embedded default."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from propylon.api.app import create_app
from propylon.settings import Settings
from propylon.testidp.guard import RefusedTestIdp, production_refusal
from tests.conftest import Server, drop_backend, free_port, make_backend, start_server, stop_server

PATHS = [
    ("GET", "/test-idp/saml/metadata"),
    ("GET", "/test-idp/saml/sso?SAMLRequest=x"),
    ("POST", "/test-idp/saml/sso"),
    ("GET", "/test-idp/saml/start?connection_id=conn_x"),
    ("POST", "/test-idp/saml/answer"),
    ("GET", "/test-idp/oidc/.well-known/openid-configuration"),
    ("GET", "/test-idp/oidc/jwks"),
    ("GET", "/test-idp/oidc/authorize"),
    ("POST", "/test-idp/oidc/answer"),
    ("POST", "/test-idp/oidc/token"),
    ("GET", "/test-idp/oidc/userinfo"),
]


async def test_disabled_every_test_idp_url_is_404(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        for method, path in PATHS:
            r = await client.request(method, path)
            assert r.status_code == 404, (method, path, r.status_code)


def test_settings_refusal() -> None:
    pg = "postgresql+asyncpg://postgres@127.0.0.1:5432/x"
    assert production_refusal(Settings()) is None
    assert production_refusal(Settings(test_idp_enabled=True)) is None  # embedded default
    assert production_refusal(Settings(test_idp_enabled=True, database_url=pg))
    assert production_refusal(Settings(database_url=pg)) is None
    forced = Settings(test_idp_enabled=True, test_idp_force=True, database_url=pg)
    assert production_refusal(forced) is None
    # the app factory (what `serve --workers N` workers build) refuses as well
    with pytest.raises(RefusedTestIdp):
        create_app(Settings(test_idp_enabled=True, database_url=pg))


def test_serve_refuses_in_production_mode_unless_forced(tmp_path: Path) -> None:
    backend = make_backend("postgres", tmp_path, {"PROPYLON_TEST_IDP_ENABLED": "true"})
    try:
        env = {**os.environ, **backend.env}
        cmd = [sys.executable, "-m", "propylon.cli", "serve", "--port", str(free_port())]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 1
        assert (
            "PROPYLON_TEST_IDP_ENABLED" in done.stderr and "PROPYLON_TEST_IDP_FORCE" in done.stderr
        )
        url, proc = start_server(backend, {"PROPYLON_TEST_IDP_FORCE": "true"})
        try:
            assert httpx.get(f"{url}/test-idp/saml/metadata", timeout=30).status_code == 200
        finally:
            stop_server(proc)
    finally:
        drop_backend(backend)


def test_serve_allows_it_on_the_embedded_default(tmp_path: Path) -> None:
    backend = make_backend("sqlite", tmp_path, {"PROPYLON_TEST_IDP_ENABLED": "true"})
    url, proc = start_server(backend)
    try:
        r = httpx.get(f"{url}/test-idp/oidc/.well-known/openid-configuration", timeout=30)
        assert r.status_code == 200 and r.json()["issuer"] == f"{url}/test-idp/oidc"
    finally:
        stop_server(proc)
