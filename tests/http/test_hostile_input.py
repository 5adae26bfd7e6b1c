"""Hostile input at the edges gets a standard 4xx and stores nothing (issue 12, "Bad input
that gets a 500 today"), on both backends: non-standard JSON, numbers past any column, NUL and
lone surrogates, strings and ids longer than their columns, filters past their bounds, search
parameters of the wrong type, malformed HTTP Basic credentials.

After each refusal the directory still lists, JSON-path filter included (a stored ``NaN``
used to break every later listing of the directory on SQLite)."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from tests.conftest import Directory, Server, backend_env_server
from tests.http.test_scim_users import ERROR, PATCH, USER, user_body

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
SCIM_JSON = {"content-type": "application/scim+json"}


def _err(r: httpx.Response, status: int, scim_type: str | None = None) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["schemas"] == [ERROR] and body["status"] == str(status)
    if scim_type:
        assert body.get("scimType") == scim_type, body


async def _only(scim: httpx.AsyncClient, users: set[str], groups: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    """The directory holds exactly these userNames and group displayNames, and every
    listing, a filter read from the JSON document and a sort included, still answers."""
    listed = await scim.get("/Users", params={"count": 1000})
    assert listed.status_code == 200, listed.text
    assert {u["userName"] for u in listed.json()["Resources"]} == users
    grouped = await scim.get("/Groups")
    assert grouped.status_code == 200, grouped.text
    assert {g["displayName"] for g in grouped.json()["Resources"]} == groups
    for params in ({"filter": "title pr"}, {"filter": 'nickName eq "x"'}, {"sortBy": "title"}):
        r = await scim.get("/Users", params=params)
        assert r.status_code == 200, r.text


def _user_json(extra: bytes, name: str = "hostile@acme.test") -> bytes:
    return b'{"schemas":["%s"],"userName":"%s"%s}' % (USER.encode(), name.encode(), extra)


async def test_nan_infinity_and_oversized_numbers_are_refused(scim: httpx.AsyncClient) -> None:
    """RFC 8259 §6 has no NaN or Infinity; 1e400 overflows to Infinity; a 5,000-digit integer
    is past Python's conversion limit (a 500 before authentication)."""
    uid = (await scim.post("/Users", json=user_body("kept@acme.test"))).json()["id"]
    gid = (await scim.post("/Groups", json={"schemas": [GROUP], "displayName": "G"})).json()["id"]
    add = b'{"schemas":["%s"],"Operations":[{"op":"add","path":"title","value":%%s}]}' % (
        PATCH.encode()
    )
    group = b'{"schemas":["%s"],"displayName":"N","x":%%s}' % GROUP.encode()
    search = b'{"schemas":["%s"],"count":%%s}' % SEARCH.encode()
    for literal in (b"NaN", b"Infinity", b"-Infinity", b"1e400", b"9" * 5000, b"-1.5e999"):
        for method, path, body in (
            ("POST", "/Users", _user_json(b',"title":' + literal)),
            ("POST", "/Groups", group % literal),
            ("PUT", f"/Users/{uid}", _user_json(b',"title":' + literal, "kept@acme.test")),
            ("PATCH", f"/Users/{uid}", add % literal),
            ("PATCH", f"/Groups/{gid}", add % literal),
            ("POST", "/Users/.search", search % literal),
        ):
            r = await scim.request(method, path, content=body, headers=SCIM_JSON)
            _err(r, 400, "invalidSyntax")
    await _only(scim, {"kept@acme.test"}, {"G"})
    assert "title" not in (await scim.get(f"/Users/{uid}")).json()


async def test_an_oversized_number_without_a_valid_token_is_401(directory: Directory) -> None:
    async with directory.client("scim_not-a-real-token") as bad:
        r = await bad.post("/Users", content=_user_json(b',"x":' + b"9" * 5000), headers=SCIM_JSON)
        _err(r, 401)


@pytest.mark.parametrize(
    "raw",
    [
        _user_json(b',"title":"a\\ud800"'),  # a lone high surrogate
        _user_json(b',"title":"\\udc00b"'),  # a lone low surrogate
        _user_json(b',"title":"a\\u0000b"'),  # NUL: PostgreSQL text and jsonb cannot hold it
        _user_json(b"", "nul\\u0000@acme.test"),
        _user_json(b',"x\\u0000y":"1"'),  # in a member name
        _user_json(b',"emails":[{"value":"e\\ud83d@acme.test"}]'),
    ],
)
async def test_nul_and_lone_surrogates_in_a_body_are_invalid_value(
    scim: httpx.AsyncClient, raw: bytes
) -> None:
    _err(await scim.post("/Users", content=raw, headers=SCIM_JSON), 400, "invalidValue")
    await _only(scim, set())


async def test_unicode_that_is_fine_is_kept(scim: httpx.AsyncClient) -> None:
    """A surrogate pair is one character (U+1F600), a BOM is ignored (RFC 8259 §8.1)."""
    raw = b"\xef\xbb\xbf" + _user_json(b',"title":"\\ud83d\\ude00 \\u00e9"', "emoji@acme.test")
    r = await scim.post("/Users", content=raw, headers=SCIM_JSON)
    assert r.status_code == 201, r.text
    assert r.json()["title"] == "\U0001f600 \u00e9"


async def test_raw_surrogates_and_non_utf8_bodies_are_invalid_syntax(
    scim: httpx.AsyncClient,
) -> None:
    for raw in (
        _user_json(b',"title":"\xed\xa0\x80"'),  # a surrogate encoded as UTF-8 bytes
        json.dumps({"schemas": [USER], "userName": "u16@acme.test"}).encode("utf-16"),
    ):
        _err(await scim.post("/Users", content=raw, headers=SCIM_JSON), 400, "invalidSyntax")
    await _only(scim, set())


async def test_deeply_nested_bodies_are_invalid_syntax(scim: httpx.AsyncClient) -> None:
    deep = b"[" * 40 + b"]" * 40
    _err(await scim.post("/Users", content=_user_json(b',"x":' + deep), headers=SCIM_JSON), 400)
    nested = {"schemas": [USER], "userName": "nest@acme.test", "x": [[[["fine"]]]]}
    assert (await scim.post("/Users", json=nested)).status_code == 201
    await _only(scim, {"nest@acme.test"})


@pytest.mark.parametrize(
    "flt",
    [
        'userName eq "a\\u0000"',
        'title eq "a\\ud800"',
        'userName eq "a\x00"',
        'emails[value sw "\\u0000"]',
    ],
)
async def test_nul_and_lone_surrogates_in_a_filter_are_invalid_filter(
    scim: httpx.AsyncClient, flt: str
) -> None:
    _err(await scim.get("/Users", params={"filter": flt}), 400, "invalidFilter")
    r = await scim.post("/Groups/.search", json={"schemas": [SEARCH], "filter": flt})
    # a raw NUL travels in the JSON body as an escape, which the edge refuses first
    _err(r, 400, "invalidValue" if "\x00" in flt else "invalidFilter")


async def test_values_longer_than_their_columns_are_invalid_value(
    scim: httpx.AsyncClient,
) -> None:
    """``users.user_name``, ``external_id``, ``groups.display_name`` … are ``String(255)``;
    the lower-cased copy too (``İ`` lower-cases to two characters)."""
    ok = "u" * 255
    for body in (
        user_body("u" * 256),
        user_body("\u0130" * 200),
        user_body("x@acme.test", externalId="e" * 256),
        user_body("x@acme.test", displayName="d" * 256),
        user_body("x@acme.test", emails=[{"value": "e" * 321, "primary": True}]),
        {"schemas": [USER], "userName": "x@acme.test", "name": {"givenName": "g" * 256}},
    ):
        _err(await scim.post("/Users", json=body), 400, "invalidValue")
    for body in (
        {"schemas": [GROUP], "displayName": "g" * 256},
        {"schemas": [GROUP], "displayName": "G", "externalId": "e" * 256},
    ):
        _err(await scim.post("/Groups", json=body), 400, "invalidValue")
    created = await scim.post("/Users", json=user_body(ok, externalId="e" * 255))
    assert created.status_code == 201, created.text
    uid = created.json()["id"]
    rename = {"op": "replace", "value": {"userName": "v" * 256}}
    too_long = {"schemas": [PATCH], "Operations": [rename]}
    _err(await scim.patch(f"/Users/{uid}", json=too_long), 400, "invalidValue")
    await _only(scim, {ok})


async def test_ids_in_the_url_no_row_can_have_are_404(server: Server, directory: Directory) -> None:
    """An id longer than the id columns (64) or holding NUL is 404 before any lookup; for a
    resource the refusal is audited under the token without overflowing the audit row's
    ``target_id`` (which failed on PostgreSQL)."""
    base = directory.base_url.rsplit("/", 1)[0]
    auth = {"Authorization": f"Bearer {directory.token}"}
    async with httpx.AsyncClient(headers=auth) as client:
        for bad_dir in ("d" * 65, "dir_%00x"):
            _err(await client.get(f"{base}/{bad_dir}/Users"), 404)
            _err(await client.post(f"{base}/{bad_dir}/Users", json=user_body("a@acme.test")), 404)
    async with directory.client() as scim:
        for rid in ("u" * 65, "user_%00", "u" * 5000):
            for kind in ("Users", "Groups"):
                _err(await scim.get(f"/{kind}/{rid}"), 404)
                _err(await scim.delete(f"/{kind}/{rid}"), 404)
                _err(await scim.put(f"/{kind}/{rid}", json=user_body("a@acme.test")), 404)
                ops = {"schemas": [PATCH], "Operations": [{"op": "add", "path": "title"}]}
                _err(await scim.patch(f"/{kind}/{rid}", json=ops), 404)
        await _only(scim, set())
    rows = server.cli_json("audit", "list", directory.tenant_slug)
    refused = [r for r in rows if r["status"] == 404 and r["outcome"] == "failure"]
    assert {r["action"] for r in refused} >= {"scim.user.get", "scim.group.patch"}


async def test_filters_past_their_bounds_are_invalid_filter(scim: httpx.AsyncClient) -> None:
    """1,000 ``or`` terms used to end in ``RecursionError`` (500). Bounds: 8,192 characters,
    256 terms, nesting 32 (settings ``PROPYLON_SCIM_FILTER_MAX_*``)."""
    for i in range(3):
        assert (await scim.post("/Users", json=user_body(f"u{i}@acme.test"))).status_code == 201
    many = " or ".join(f'userName eq "u{i}@acme.test"' for i in range(200))
    r = await scim.get("/Users", params={"filter": many})
    assert r.status_code == 200 and r.json()["totalResults"] == 3, r.text
    terms = " and ".join(["userName pr"] * 257)  # 3,083 characters: only the term count is over
    deep = "not (" * 33 + "userName pr" + ")" * 33
    mixed = "(userName pr or (" * 33 + "title pr" + "))" * 33
    for flt in (
        " or ".join(['userName eq "a"'] * 1000),
        " and ".join(['userName eq "a"'] * 1000),
        terms,
        deep,
        mixed,
        'userName eq "' + "a" * 9000 + '"',
    ):
        r = await scim.get("/Users", params={"filter": flt})
        assert r.status_code == 400, flt[:80]
        _err(r, 400, "invalidFilter")
        r = await scim.post("/Users/.search", json={"schemas": [SEARCH], "filter": flt})
        _err(r, 400, "invalidFilter")
    uid = (await scim.get("/Users")).json()["Resources"][0]["id"]
    path = "emails[" + " or ".join(['value eq "a"'] * 300) + "].type"
    op = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": path, "value": "x"}]}
    _err(await scim.patch(f"/Users/{uid}", json=op), 400, "invalidFilter")
    await _only(scim, {f"u{i}@acme.test" for i in range(3)})


@pytest.mark.parametrize(
    ("params", "scim_type"),
    [
        ({"filter": 5}, "invalidFilter"),
        ({"filter": {"userName": "x"}}, "invalidFilter"),
        ({"filter": ['userName eq "x"']}, "invalidFilter"),
        ({"filter": True}, "invalidFilter"),
        ({"attributes": 5}, "invalidValue"),
        ({"attributes": ["userName", 5]}, "invalidValue"),
        ({"excludedAttributes": {"a": 1}}, "invalidValue"),
        ({"sortBy": 5}, "invalidValue"),
        ({"sortBy": ["userName"]}, "invalidValue"),
        ({"sortOrder": 1}, "invalidValue"),
        ({"startIndex": True}, "invalidValue"),
        ({"startIndex": 1.5}, "invalidValue"),
        ({"startIndex": "x"}, "invalidValue"),
        ({"count": [1]}, "invalidValue"),
        ({"count": False}, "invalidValue"),
    ],
)
async def test_search_parameters_of_the_wrong_type_are_refused(
    scim: httpx.AsyncClient, params: dict[str, Any], scim_type: str
) -> None:
    """A ``filter`` that is not a string used to be ignored: the whole directory came back."""
    assert (await scim.post("/Users", json=user_body("one@acme.test"))).status_code == 201
    for path in ("/Users/.search", "/Groups/.search", "/.search"):
        r = await scim.post(path, json={"schemas": [SEARCH], **params})
        _err(r, 400, scim_type)
    r = await scim.post("/Users/.search", json={"schemas": [SEARCH], "startIndex": 1, "count": 5})
    assert r.status_code == 200 and r.json()["totalResults"] == 1


def _basic(raw: bytes) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


@pytest.mark.parametrize(
    "headers",
    [
        _basic(b"\xff\xfe:\xc3"),  # not UTF-8
        _basic(b"client-without-colon"),
        _basic(b"client%00:secret"),  # NUL once form-decoded (RFC 6749 §2.3.1)
        {"Authorization": "Basic !!not-base64!!"},
        {"Authorization": "Basic " + base64.b64encode(b"a:b").decode()[:-1]},  # bad padding
    ],
)
async def test_malformed_basic_credentials_are_invalid_client(
    server: Server, headers: dict[str, str]
) -> None:
    """RFC 6749 §5.2: failed client authentication through the Authorization header is
    401 ``invalid_client`` with a ``WWW-Authenticate`` challenge (Authlib raised a
    ``UnicodeDecodeError``: 500)."""
    form = {"grant_type": "client_credentials", "token": "x", "code": "c"}
    async with httpx.AsyncClient(base_url=server.url) as client:
        for endpoint in ("/oauth2/token", "/oauth2/introspect", "/oauth2/revoke"):
            r = await client.post(endpoint, data=form, headers=headers)
            assert r.status_code == 401, (endpoint, r.text)
            assert r.json()["error"] == "invalid_client"
            assert r.headers["www-authenticate"].startswith("Basic")


async def test_nul_in_oauth_forms_and_queries_is_a_client_error(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        form = b"client_id=%00&client_secret=x&token=%00&grant_type=authorization_code&code=%00"
        for endpoint in ("/oauth2/token", "/oauth2/introspect", "/oauth2/revoke"):
            r = await client.post(
                endpoint,
                content=form,
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
            assert 400 <= r.status_code < 500, (endpoint, r.text)
        for query in (
            "client_id=%00&response_type=code&redirect_uri=x",
            "organization=%00&client_id=x",
            "login_hint=a%00%40acme.test&client_id=x",
        ):
            r = await client.get(f"/oauth2/authorize?{query}")
            assert r.status_code == 400, (query, r.text)
        r = await client.get("/oauth2/logout?client_id=%00&post_logout_redirect_uri=x")
        assert r.status_code == 400, r.text


async def test_management_api_refuses_what_it_cannot_store(server: Server) -> None:
    async with server.api("/api/v1") as api:
        for raw in (
            b'{"slug":"hostile-a","name":NaN}',
            b'{"slug":"hostile-b","name":"x","seats":Infinity}',
            b'{"slug":"hostile-c","name":"x","seats":' + b"9" * 5000 + b"}",
            b'{"slug":"hostile-d","name":"a\\u0000"}',
            b'{"slug":"hostile-e","name":"a\\ud800"}',
            b'{"slug":"hostile-f","name":"x","domains":' + b"[" * 40 + b"]" * 40 + b"}",
            json.dumps({"slug": "hostile-g", "name": "n" * 256}).encode(),
        ):
            r = await api.post(
                "/tenants", content=raw, headers={"content-type": "application/json"}
            )
            assert r.status_code == 400, (raw[:60], r.text)
            assert r.headers["content-type"] == "application/problem+json"
        r = await api.post("/apps", json={"name": "a" * 256, "redirect_uris": ["https://x/cb"]})
        assert r.status_code == 400, r.text
        slugs = {t["slug"] for t in (await api.get("/tenants")).json()["data"]}
        assert not {s for s in slugs if s.startswith("hostile-")}
        for path in ("/tenants/a%00", "/tenants/a%00/users", "/audit?action=a%00"):
            r = await api.get(path)
            assert r.status_code == 400, (path, r.text)
        # longer than any id or slug column: 404 before the operation (whose audit row of the
        # failure overflowed on PostgreSQL)
        for method, path in (("DELETE", "/apps/"), ("POST", "/scim-directories/")):
            r = await api.request(
                method, path + "x" * 65 + ("/revoke-token" if "scim" in path else "")
            )
            assert r.status_code == 404, (path, r.text)
        created = await api.post("/tenants", json={"slug": "hostile-ok", "name": "n" * 255})
        assert created.status_code == 201, created.text
        r = await api.post("/tenants/hostile-ok/scim-directories", json={"name": "d" * 256})
        assert r.status_code == 400, r.text


async def test_filter_bounds_are_settings(server: Server) -> None:
    env = {
        "PROPYLON_SCIM_FILTER_MAX_TERMS": "2",
        "PROPYLON_SCIM_FILTER_MAX_DEPTH": "1",
        "PROPYLON_SCIM_FILTER_MAX_LENGTH": "40",
    }
    async with backend_env_server(server, env) as (_, d), d.client() as scim:
        ok = await scim.get("/Users", params={"filter": "userName pr or title pr"})
        assert ok.status_code == 200, ok.text
        for flt in (
            "userName pr or title pr or nickName pr",  # 3 terms
            "not (userName pr or title pr)",  # depth 2
            'userName eq "' + "a" * 40 + '"',  # 55 characters
        ):
            _err(await scim.get("/Users", params={"filter": flt}), 400, "invalidFilter")
        path = 'emails[value eq "a" or value eq "b" or value eq "c"].type'
        user = await scim.post("/Users", json=user_body("limits@acme.test"))
        op = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": path, "value": "x"}]}
        _err(await scim.patch(f"/Users/{user.json()['id']}", json=op), 400)
