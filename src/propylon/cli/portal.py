"""``propylon portal link|links|revoke``: setup links for a tenant's IT admin."""

from __future__ import annotations

from typing import Annotated

import typer

from propylon.admin import portal_links as ops
from propylon.admin.audited import CLI
from propylon.cli.common import emit, run, table
from propylon.runtime import Runtime

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]

portal_app = typer.Typer(
    no_args_is_help=True, help="Setup portal links for a tenant's IT admin (SSO, SCIM, ...)."
)


@portal_app.command("link")
def link(
    tenant: Annotated[str, typer.Argument(help="Tenant slug or id.")],
    intent: Annotated[
        list[str],
        typer.Option(
            "--intent", help="sso, scim, domains, roles or all (repeatable).", show_default=False
        ),
    ],
    expires: Annotated[
        str | None,
        typer.Option("--expires", metavar="DURATION", help="e.g. 30m, 1h, 2d (default 1h)."),
    ] = None,
    return_url: Annotated[
        str | None, typer.Option("--return-url", help='Where "Done" leads (https).')
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a single-use setup link; its URL is shown only now."""

    async def op(rt: Runtime) -> dict[str, object]:
        seconds = ops.parse_duration(expires) if expires is not None else None
        return await ops.create_link(rt, CLI, tenant, intent, seconds, return_url)

    made = run(op)
    emit(
        made,
        as_json,
        lambda: typer.echo(
            f"{made['url']}\n(link {made['link_id']}, expires {made['expires_at']})"
        ),
    )


@portal_app.command("links")
def links(
    tenant: Annotated[
        str | None, typer.Argument(help="Tenant slug or id (all if omitted).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List setup links and their status (never their tokens)."""
    rows = run(lambda rt: ops.list_links(rt, tenant))
    emit(
        rows,
        as_json,
        lambda: table(rows, ["link_id", "tenant", "intents", "status", "expires_at"]),
    )


@portal_app.command("revoke")
def revoke(
    link_id: Annotated[str, typer.Argument(help="The link's id (plk_…).")],
    as_json: JsonOpt = False,
) -> None:
    """Revoke a setup link; the portal session it opened ends at once."""
    done = run(lambda rt: ops.revoke_link(rt, CLI, link_id))
    emit(done, as_json, lambda: typer.echo(f"revoked {done['link_id']}"))
