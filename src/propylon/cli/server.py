"""``propylon serve``, ``propylon demo`` and ``propylon migrate``: the commands that run or
prepare the server (``cli/main.py`` registers them)."""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

import typer
from sqlalchemy.exc import DBAPIError

from propylon.admin.secrets import seal_stored_secrets
from propylon.cli import demo as demo_cli
from propylon.cli import workers as serve_workers
from propylon.cli.common import describe_database, emit, fail, load_settings, note_advertised
from propylon.db.migrate import head_revision, is_current, upgrade
from propylon.logs import configure
from propylon.runtime import build_runtime
from propylon.settings import Settings
from propylon.testidp.guard import production_refusal

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (production: with Redis).")] = 1,
) -> None:
    """Migrate the database (or refuse if PROPYLON_AUTO_MIGRATE=false) and serve HTTP.

    Without PROPYLON_PUBLIC_URL the server advertises the address it listens on (SCIM base
    URLs, ACS URLs, the issuer)."""
    settings = Settings()
    if "public_url" not in settings.model_fields_set:
        # the workers (fresh interpreters) and the app factory read the same variable
        os.environ["PROPYLON_PUBLIC_URL"] = demo_cli.advertised(host, port)
        settings = Settings()
        note_advertised(settings)
    configure(settings.log_level, settings.log_json)
    if refusal := production_refusal(settings):
        typer.echo(f"error: {refusal}", err=True)
        raise typer.Exit(1)

    async def prepare() -> None:
        rt = build_runtime(settings)
        try:
            if settings.auto_migrate:
                await upgrade(rt.db)
            elif not await is_current(rt.db):
                typer.echo(
                    "error: database schema is not current: run `propylon migrate`", err=True
                )
                raise typer.Exit(1)
        finally:
            await rt.close()

    asyncio.run(prepare())
    if not settings.is_sqlite and not settings.secret_key.get_secret_value():
        typer.echo(
            f"warning: secrets are sealed with the key file in {settings.data_dir}; with a "
            "shared database set PROPYLON_SECRET_KEY on every host instead",
            err=True,
        )
    if workers > 1 and settings.demo_enabled:
        # the demo host app keeps its signed-in visitors in the process (demo/host.py)
        typer.echo("error: the demo host app runs in one process: --workers 1", err=True)
        raise typer.Exit(1)
    if workers > 1 and not settings.redis_url:
        typer.echo(
            "warning: several workers without PROPYLON_REDIS_URL share no rate limits", err=True
        )
    typer.echo(
        f"Propylon on http://{host}:{port}, public URL {settings.public_url} "
        f"(database: {describe_database(settings)})",
        err=True,
    )
    if workers > 1:
        try:
            status = serve_workers.run(host, port, workers)
        except OSError as exc:
            typer.echo(f"error: cannot listen on {host}:{port}: {exc.strerror}", err=True)
            raise typer.Exit(1) from exc
        raise typer.Exit(status)
    serve_workers.Server(serve_workers.server_config(host, port)).run()


def demo(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
) -> None:
    """Make a demo tenant wired to the built-in test IdP (people and groups over SCIM, role
    rules, a demo host app) and serve it: open /demo and sign in by SSO, no account needed.
    Idempotent; the test IdP and /demo are enabled for this process only."""
    demo_cli.prepare(host, port)
    serve(host=host, port=port, workers=1)


def migrate(
    check: Annotated[bool, typer.Option(help="Only report; exit 1 if behind.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Bring the database schema to the current revision (and seal private keys an older
    version stored in clear)."""
    settings = load_settings()

    async def main() -> bool:
        rt = build_runtime(settings)
        try:
            if check:
                return await is_current(rt.db)
            await upgrade(rt.db)
            await seal_stored_secrets(rt)  # what an older version stored in clear
            return True
        finally:
            await rt.close()

    try:
        ok = asyncio.run(main())
    except (DBAPIError, OSError) as exc:
        raise fail(f"database unavailable: {type(exc).__name__}", "unavailable") from None
    out = {"current": ok, "revision": head_revision(), "database": describe_database(settings)}
    emit(
        out,
        as_json,
        lambda: typer.echo(
            f"schema {'at' if ok else 'behind'} revision {head_revision()} "
            f"({describe_database(settings)})"
        ),
    )
    if not ok:
        raise typer.Exit(1)
