"""Shared CLI plumbing: one runtime per command, migrated, closed; JSON or human output.

With ``--json`` a command prints one JSON document on stdout whatever happens: its result, or
``{"error": {"code": ..., "message": ...}}`` with a non-zero exit status.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog
import typer
from sqlalchemy.exc import DBAPIError

from propylon import errors
from propylon.db.migrate import is_current, upgrade
from propylon.errors import PropylonError
from propylon.runtime import Runtime, build_runtime
from propylon.settings import Settings

T = TypeVar("T")


_CODES: tuple[tuple[type[PropylonError], str], ...] = (
    (errors.NotFound, "not_found"),
    (errors.AlreadyExists, "already_exists"),
    (errors.InvalidInput, "invalid_input"),
    (errors.Unauthenticated, "unauthenticated"),
)


def json_mode() -> bool:
    """Whether the command line asks for ``--json`` (every command takes it)."""
    return "--json" in sys.argv[1:]


def fail(message: str, code: str = "error", status: int = 1) -> typer.Exit:
    """Report an error the way the command was asked to speak; raise the returned exit."""
    if json_mode():
        sys.stdout.write(json.dumps({"error": {"code": code, "message": message}}) + "\n")
    else:
        typer.echo(f"error: {message}", err=True)
    return typer.Exit(status)


def describe_database(settings: Settings) -> str:
    """Which database a command uses, for people (never the password)."""
    if settings.is_sqlite:
        return f"SQLite {settings.data_dir / 'propylon.db'}"
    url = settings.resolved_database_url()
    return "PostgreSQL " + url.rsplit("@", 1)[-1]


ADVERTISED = "advertised-url"
"""File in the data directory where ``serve`` notes the public URL it derived from its port,
so the CLI prints the same SCIM base URLs and ACS URLs as the running server."""


def load_settings() -> Settings:
    """The settings; without PROPYLON_PUBLIC_URL, the URL the last ``serve`` advertised."""
    settings = Settings()
    if "public_url" not in settings.model_fields_set:
        try:
            noted = (settings.data_dir / ADVERTISED).read_text().strip()
        except OSError:
            return settings
        if noted.startswith(("http://", "https://")):
            settings = settings.model_copy(update={"public_url": noted})
    return settings


def note_advertised(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / ADVERTISED).write_text(settings.public_url + "\n")


def run(fn: Callable[[Runtime], Awaitable[T]]) -> T:
    """Run one operation against a freshly built runtime; errors exit with status 1."""

    # stdout carries the command's output (one JSON document with --json): logs go to stderr
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))

    async def main() -> T:
        settings = load_settings()
        if not json_mode():
            typer.echo(f"(database: {describe_database(settings)})", err=True)
        rt = build_runtime(settings)
        try:
            if settings.auto_migrate:
                await upgrade(rt.db)
            elif not await is_current(rt.db):
                raise PropylonError("database schema is not current: run `propylon migrate`")
            return await fn(rt)
        finally:
            await rt.close()

    try:
        return asyncio.run(main())
    except PropylonError as exc:
        code = next((c for kind, c in _CODES if isinstance(exc, kind)), "error")
        raise fail(exc.detail, code) from None
    except (DBAPIError, OSError) as exc:
        raise fail(f"database unavailable: {type(exc).__name__}", "unavailable") from None


def show(value: Any) -> str:
    """A value as a person reads it: lists joined, nothing as ``-``, never a Python repr."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(show(v) for v in value) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={show(v)}" for k, v in value.items()) or "-"
    return str(value)


def fields(view: dict[str, Any]) -> None:
    """One ``key: value`` line per field."""
    for key, value in view.items():
        typer.echo(f"{key}: {show(value)}")


def emit(data: Any, as_json: bool, human: Callable[[], None]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, default=str) + "\n")
    else:
        human()
        if isinstance(data, dict) and data.get("fanout") == "failed":  # cache/fanout.py
            typer.echo(f"note: {data['note']}")


def table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    if not rows:
        typer.echo("(none)")
        return
    widths = {c: max(len(c), *(len(show(r.get(c))) for r in rows)) for c in columns}
    typer.echo("  ".join(c.upper().ljust(widths[c]) for c in columns))
    for r in rows:
        typer.echo("  ".join(show(r.get(c)).ljust(widths[c]) for c in columns))
