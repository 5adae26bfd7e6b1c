"""Opening setup links is limited per client address in the accelerator: past the limit a
page with 429 and ``Retry-After``, and nothing written (the limit is the sign-in start limit,
``PROPYLON_SIGN_IN_START_RATE_LIMIT_PER_MINUTE``)."""

from __future__ import annotations

from pathlib import Path

import httpx

from propylon.admin import portal_links
from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from propylon.runtime import build_runtime
from tests.conftest import drop_backend, make_backend, start_server, stop_server


async def test_opening_links_is_limited_per_address(tmp_path: Path) -> None:
    backend = make_backend(
        "sqlite", tmp_path, {"PROPYLON_SIGN_IN_START_RATE_LIMIT_PER_MINUTE": "3"}
    )
    url, proc = start_server(backend)
    rt = build_runtime(backend.settings().model_copy(update={"public_url": url}))
    try:
        await ops.create_tenant(rt, CLI, slug="limited", name="Limited", domains=[], seats=None)
        link = await portal_links.create_link(rt, CLI, "limited", ["sso"], None, None)
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            answers = [await client.get("/portal/start?token=ptl_guess") for _ in range(3)]
            assert [a.status_code for a in answers] == [401, 401, 401]
            refused = await client.get(link["url"].removeprefix(url))
            assert refused.status_code == 429
            assert int(refused.headers["Retry-After"]) > 0
            assert (await client.post("/portal/start", data={"token": "x"})).status_code == 429
        assert [row["status"] for row in await portal_links.list_links(rt, "limited")] == ["active"]
    finally:
        await rt.close()
        stop_server(proc)
        drop_backend(backend)
