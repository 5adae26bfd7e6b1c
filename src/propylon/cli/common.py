"""Shared CLI plumbing: one runtime per command, migrated, closed; JSON or human output."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog
import typer

from propylon.db.migrate import is_current, upgrade
from propylon.errors import PropylonError
from propylon.runtime import Runtime, build_runtime
from propylon.settings import Settings

T = TypeVar("T")


def run(fn: Callable[[Runtime], Awaitable[T]]) -> T:
    """Run one operation against a freshly built runtime; domain errors exit with status 1."""

    # stdout carries the command's output (one JSON document with --json): logs go to stderr
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))

    async def main() -> T:
        settings = Settings()
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
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None


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
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    typer.echo("  ".join(c.upper().ljust(widths[c]) for c in columns))
    for r in rows:
        typer.echo(
            "  ".join(
                str(r.get(c, "") if r.get(c) is not None else "-").ljust(widths[c]) for c in columns
            )
        )
