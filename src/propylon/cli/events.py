"""``propylon events list``: the event feed's cursor pages (``docs/events.md``)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from propylon.admin import events as ops
from propylon.cli.common import emit, run, table
from propylon.runtime import Runtime

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]

events_app = typer.Typer(no_args_is_help=True, help="The event feed (global order).")


@events_app.command("list")
def list_events(
    after: Annotated[int, typer.Option(min=0, help="The cursor: events after this seq.")] = 0,
    types: Annotated[
        list[str] | None, typer.Option("--type", help="Only this event type (repeatable).")
    ] = None,
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's (slug or id).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Most events shown.")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """Sequenced events after the cursor in global order, and the cursor of the next page
    (``next_after``). Events committed but not yet numbered are numbered first."""

    async def page(rt: Runtime) -> dict[str, Any]:
        await rt.feed.sequencer.drain()  # nothing committed is left out when no server runs
        return await ops.list_events(rt, after=after, limit=limit, types=types or (), tenant=tenant)

    out = run(page)
    rows = [
        {
            "seq": e["seq"],
            "created_at": e["created_at"],
            "tenant_id": e["tenant_id"],
            "tenant_seq": e["tenant_seq"],
            "type": e["type"],
            "subject": f"{e['subject']['type']}:{e['subject']['id']}",
        }
        for e in out["data"]
    ]

    def human() -> None:
        table(rows, ["seq", "created_at", "type", "subject", "tenant_id", "tenant_seq"])
        typer.echo(f"next_after: {out['next_after']}")

    emit(out, as_json, human)
