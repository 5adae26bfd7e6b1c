"""With Redis down, Propylon fails closed with a standard error, never a 500: 503 with
``Retry-After`` in the caller's format (OAuth error JSON, SCIM error, problem document) and a
readable page for a person; ``scim revoke-token`` says the revocation is committed.
PostgreSQL and a Redis of the test's own, killed mid-test (issue 12)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from propylon.runtime import build_runtime
from tests.conftest import Server, drop_backend, make_backend, start_server, stop_server
from tests.http.test_scim_users import user_body
from tests.own_redis import OwnRedis, own_redis
from tests.provider.helpers import auth_params, basic, browser, code_flow, new_app, new_person
from tests.sso.test_saml_login import new_org, response_for, start

SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


@pytest.fixture
async def outage(tmp_path: Path) -> AsyncIterator[tuple[Server, OwnRedis]]:
    """A server on PostgreSQL and a Redis of its own (which the test may stop)."""
    with own_redis() as redis:
        backend = make_backend("postgres", tmp_path)
        backend.env["PROPYLON_REDIS_URL"] = redis.url
        del backend.env["PROPYLON_REDIS_PREFIX"]  # a Redis of its own: nothing to clean up
        try:
            url, proc = start_server(backend)
            rt = build_runtime(backend.settings().model_copy(update={"public_url": url}))
            try:
                yield Server(backend, url, proc, rt), redis
            finally:
                await rt.close()
                stop_server(proc)
        finally:
            drop_backend(backend)


def unavailable(r: httpx.Response) -> None:
    assert r.status_code == 503, (r.status_code, r.text)
    assert int(r.headers["retry-after"]) > 0


def unavailable_page(r: httpx.Response) -> None:
    unavailable(r)
    assert r.headers["content-type"].startswith("text/html")
    assert "try again" in r.text


def unavailable_oauth(r: httpx.Response) -> None:
    unavailable(r)
    assert r.json()["error"] == "temporarily_unavailable"


async def test_with_redis_down_requests_get_503_and_a_revocation_still_commits(
    outage: tuple[Server, OwnRedis],
) -> None:
    server, redis = outage
    app = await new_app(server)
    person = await new_person(server)
    tokens, _ = await code_flow(server, app, person)
    org = await new_org(server)
    email = f"ada@{org.domain}"
    assert (await org.scim.post("/Users", json=user_body(email))).status_code == 201
    api_key = (await ops.create_api_key(server.rt, CLI, "outage"))["key"]
    async with (
        httpx.AsyncClient(base_url=server.url, timeout=30) as client,
        browser(server, person) as signed_in,
    ):
        request_id, relay, _ = await start(client, org, email)  # a login under way
        redis.stop()

        # people: a readable page
        unavailable_page(await signed_in.get("/oauth2/authorize", params=auth_params(app)))
        acs = urlsplit(org.connection["acs_url"]).path
        saml = response_for(org, email, request_id)
        unavailable_page(await client.post(acs, data={"SAMLResponse": saml, "RelayState": relay}))

        # API callers: RFC 6749 error JSON
        refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        unavailable_oauth(await client.post("/oauth2/token", data=refresh, auth=basic(app)))
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        unavailable_oauth(await client.get("/oauth2/userinfo", headers=bearer))
        token = {"token": tokens["access_token"]}
        unavailable_oauth(await client.post("/oauth2/introspect", data=token, auth=basic(app)))

        # SCIM and the management API settle their rate limits with Redis every 50 requests
        api = {"Authorization": f"Bearer {api_key}"}
        for path, headers in (("/Users?count=1", {}), ("/api/v1/tenants", api)):
            refused = []
            for _ in range(110):  # at least one settlement, even across a window's end
                r = await (org.scim if not headers else client).get(path, headers=headers)
                assert r.status_code in (200, 503), (r.status_code, r.text)
                if r.status_code == 503:
                    refused.append(r)
            assert refused, path
            unavailable(refused[0])
            if not headers:
                assert refused[0].json()["schemas"] == [SCIM_ERROR]
                assert refused[0].json()["status"] == "503"
            else:
                assert refused[0].headers["content-type"] == "application/problem+json"

        # the CLI: the revocation commits; the fan-out's failure is said, not a traceback
        directory = await ops.create_directory(server.rt, CLI, org.slug)
        done = server.cli("scim", "revoke-token", directory["directory_id"], "--json")
        assert "Traceback" not in done.stderr
        out = json.loads(done.stdout)
        assert out["revoked"] == 1 and out["fanout"] == "failed" and "committed" in out["note"]
        human = server.cli("scim", "revoke-token", directory["directory_id"])
        assert "Traceback" not in human.stderr
        assert "committed" in human.stdout and "reconnect" in human.stdout
        scim_path = urlsplit(directory["base_url"]).path + "/Users"
        r = await client.get(scim_path, headers={"Authorization": f"Bearer {directory['token']}"})
        assert r.status_code == 401  # revoked
