"""Helpers of the SDK's tests against a live Propylon: an app, a signed-in person and their
access token, an API key, an SDK client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from propylon.sdk import InvalidToken, Propylon
from tests.conftest import Server
from tests.provider.helpers import App, Person, code_flow, new_app, new_person


@dataclass
class Signed:
    app: App
    person: Person
    access_token: str
    refresh_token: str


async def signed_in(server: Server, app: App | None = None) -> Signed:
    app = app or await new_app(server)
    person = await new_person(server)
    tokens, _ = await code_flow(server, app, person)
    return Signed(app, person, tokens["access_token"], tokens["refresh_token"])


async def api_key(server: Server) -> str:
    return (await ops.create_api_key(server.rt, CLI, name="sdk test"))["key"]


def sdk(server: Server, app: App, key: str | None, **kw: object) -> Propylon:
    return Propylon(
        server.url,
        audience=app.client_id,
        api_key=key,
        client_id=app.client_id,
        client_secret=app.client_secret,
        **kw,  # type: ignore[arg-type]
    )


async def refused_within(
    verify: Callable[[], object], seconds: float, step: float = 0.02
) -> tuple[str, float]:
    """Poll ``verify`` until it raises :class:`InvalidToken`: (reason, seconds it took)."""
    start = time.monotonic()
    while True:
        try:
            verify()
        except InvalidToken as exc:
            return exc.reason, time.monotonic() - start
        if time.monotonic() - start > seconds:
            raise AssertionError(f"still accepted after {seconds} s")
        await asyncio.sleep(step)
