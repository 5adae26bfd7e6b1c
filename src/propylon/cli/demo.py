"""``propylon demo``: make the demo (``demo/seed.py``) and serve it with the test IdP and the
demo host app enabled for this process; ``cli/main.py`` then serves as ``propylon serve``."""

from __future__ import annotations

import asyncio
import os

import typer

from propylon.cli.common import describe_database, note_advertised
from propylon.db.migrate import upgrade
from propylon.demo.seed import seed
from propylon.demo.state import DemoState
from propylon.logs import configure
from propylon.runtime import build_runtime
from propylon.settings import Settings
from propylon.testidp.guard import production_refusal

ENABLED = ("PROPYLON_DEMO_ENABLED", "PROPYLON_TEST_IDP_ENABLED")


def advertised(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    shown = f"[{shown}]" if ":" in shown else shown
    return f"http://{shown}:{port}"


def prepare(host: str, port: int) -> Settings:
    """Enable the test IdP and the demo app for this process (and its workers), migrate,
    seed, and say where to go; the settings :func:`serve` runs with."""
    for name in ENABLED:
        os.environ[name] = "true"
    derived = "public_url" not in Settings().model_fields_set
    if derived:  # as `serve` does: the address it listens on
        os.environ["PROPYLON_PUBLIC_URL"] = advertised(host, port)
    settings = Settings()
    if refusal := production_refusal(settings):
        typer.echo(f"error: {refusal}", err=True)
        raise typer.Exit(1)
    if derived:
        note_advertised(settings)
    configure(settings.log_level, settings.log_json)

    async def make() -> DemoState:
        rt = build_runtime(settings)
        try:
            await upgrade(rt.db)
            return await seed(rt, settings.data_dir)
        finally:
            await rt.close()

    state = asyncio.run(make())
    base = settings.public_url.rstrip("/")
    typer.echo(
        f"\nPropylon demo (database: {describe_database(settings)})\n\n"
        f"  Open {base}/demo\n\n"
        "  1. Sign in with SSO: the demo app sends you through Propylon to the test IdP.\n"
        f"  2. Pick a person ({', '.join(state.people)}) and send the response.\n"
        "  3. See the ID token and the roles; move yourself between groups with the page's\n"
        "     IdP control and watch the roles change, with no new sign-in.\n\n"
        f"  Setup portal, console and API: {base}/ (tenant `demo`, app {state.client_id})\n",
        err=True,
    )
    return settings
