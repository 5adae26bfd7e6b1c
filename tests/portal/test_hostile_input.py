"""Hostile input to the portal never gets a 5xx: odd tokens, cookies, ids, domains and rule
documents are refused with a 4xx page (or an ordinary answer), on both backends."""

from __future__ import annotations

import json

from tests.conftest import Server
from tests.portal.helpers import browser, csrf_of, new_tenant, portal_browser

ODD = [
    "",
    " ",
    "\ud800",
    "💥" * 200,
    "a" * 5000,
    "'; DROP TABLE portal_links; --",
    "../../etc/passwd",
    "%00",
    "xn--",
    "-.example.org",
    "a..b",
    "*.example.org",
]


async def test_hostile_input_to_the_portal_never_gets_a_5xx(site: Server) -> None:
    tenant = await new_tenant(site)
    async with browser(site) as anonymous:
        for value in ODD:
            safe = value.encode("utf-8", "replace").decode()
            answer = await anonymous.get("/portal/start", params={"token": "ptl_" + safe})
            assert answer.status_code < 500, value
            answer = await anonymous.post("/portal/start", data={"token": safe})
            assert answer.status_code < 500, value
        raw = {"Cookie": "propylon_portal=pss_\xc3\xa9\xff; propylon_portal=x".encode("latin-1")}
        assert (await anonymous.get("/portal", headers=raw)).status_code == 401
    async with portal_browser(site, tenant.slug) as client:
        csrf = csrf_of((await client.get("/portal")).text)
        for value in ODD:
            safe = value.encode("utf-8", "replace").decode()
            for path in (f"/portal/scim/{safe}", f"/portal/scim/{safe}/rotate"):
                if len(path) > 4000:
                    continue
                got = await client.get(path)
                assert got.status_code < 500, path
                posted = await client.post(path, data={"csrf_token": csrf})
                assert posted.status_code < 500, path
            for path in ("/portal/domains", "/portal/domains/check"):
                answer = await client.post(path, data={"csrf_token": csrf, "domain": safe})
                assert answer.status_code < 500, (path, value)
            answer = await client.post("/portal/scim", data={"csrf_token": csrf, "name": safe})
            assert answer.status_code < 500, value
            for action in ("preview", "save"):
                answer = await client.post(
                    "/portal/roles", data={"csrf_token": csrf, "rules": safe, "action": action}
                )
                assert answer.status_code == 400, value
        for doc in ([], "x", {"rules": "x"}, {"rules": [{}]}, {"defaults": {"tier": 5}}, 1e400):
            answer = await client.post(
                "/portal/roles",
                data={"csrf_token": csrf, "rules": json.dumps(doc), "action": "preview"},
            )
            assert answer.status_code == 400, doc
        nul = await client.post(
            "/portal/domains", content=b"csrf_token=" + csrf.encode() + b"&domain=a%00b"
        )
        assert nul.status_code == 400


DEEP = '{"defaults":' * 5000 + "1" + "}" * 5000
"""The reviewer's reproduction: nesting far past the parser's recursion limit."""


async def test_deeply_nested_rules_are_refused_with_400_not_500(site: Server) -> None:
    tenant = await new_tenant(site)
    async with portal_browser(site, tenant.slug) as client:
        csrf = csrf_of((await client.get("/portal")).text)
        for text in (DEEP, "[" * 40 + "]" * 40, '{"defaults": NaN}'):
            for action in ("preview", "save"):
                answer = await client.post(
                    "/portal/roles", data={"csrf_token": csrf, "rules": text, "action": action}
                )
                assert answer.status_code == 400, (text[:20], action)
                assert "not" in answer.text
        page = await client.get("/portal/roles")
        assert page.status_code == 200
    async with site.api() as api:
        base = f"/api/v1/tenants/{tenant.slug}/entitlement-rules"
        headers = {"Content-Type": "application/json"}
        for method, path in (("PUT", base), ("POST", base + "/dry-run")):
            answer = await api.request(method, path, content=DEEP, headers=headers)
            assert answer.status_code == 400 or answer.status_code == 422, (path, answer.text)
