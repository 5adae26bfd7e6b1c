"""``propylon webhooks create|list|show|update|delete|rotate-secret`` and ``propylon
deliveries list|show|replay`` (:mod:`propylon.admin.webhooks`)."""

from __future__ import annotations

from typing import Annotated

import typer

from propylon.admin import webhooks
from propylon.admin.audited import CLI
from propylon.cli.common import emit, fields, run, table

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
EndpointArg = Annotated[str, typer.Argument(help="The endpoint's id (whep_...).")]

webhooks_app = typer.Typer(no_args_is_help=True, help="Webhook endpoints (Standard Webhooks).")
deliveries_app = typer.Typer(
    no_args_is_help=True, help="The delivery queue: log, dead letters, replay."
)


@webhooks_app.command("create")
def create(
    url: Annotated[str, typer.Argument(help="Where events are POSTed (https).")],
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's events (id).")] = None,
    type_: Annotated[
        list[str] | None,
        typer.Option("--type", help="Event type, or a prefix like user.* (repeatable; none: all)."),
    ] = None,
    description: Annotated[str, typer.Option(help="A note for people.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Register an endpoint; its whsec_ secret is shown only once."""
    out = run(
        lambda rt: webhooks.create_endpoint(
            rt, CLI, url=url, tenant_id=tenant, event_types=type_ or [], description=description
        )
    )

    def human() -> None:
        typer.echo(f"id: {out['id']}")
        typer.echo(f"secret (shown once): {out['secret']}")

    emit(out, as_json, human)


@webhooks_app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """List endpoints."""
    rows = run(webhooks.list_endpoints)
    emit(rows, as_json, lambda: table(rows, ["id", "url", "tenant_id", "event_types"]))


@webhooks_app.command("show")
def show(endpoint_id: EndpointArg, as_json: JsonOpt = False) -> None:
    """Show an endpoint and its deliveries by state."""
    out = run(lambda rt: webhooks.show_endpoint(rt, endpoint_id))
    emit(out, as_json, lambda: fields(out))


@webhooks_app.command("update")
def update(
    endpoint_id: EndpointArg,
    url: Annotated[str | None, typer.Option(help="New URL.")] = None,
    type_: Annotated[
        list[str] | None, typer.Option("--type", help="Event type (repeatable; replaces the list).")
    ] = None,
    all_types: Annotated[bool, typer.Option("--all-types", help="Every event type.")] = False,
    description: Annotated[str | None, typer.Option(help="New note.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change an endpoint's URL, event types or note."""
    types = [] if all_types else type_
    out = run(
        lambda rt: webhooks.update_endpoint(
            rt, CLI, endpoint_id, url=url, event_types=types, description=description
        )
    )
    emit(out, as_json, lambda: typer.echo(f"updated {out['id']}"))


@webhooks_app.command("delete")
def delete(endpoint_id: EndpointArg, as_json: JsonOpt = False) -> None:
    """Delete an endpoint; its queued deliveries are dropped."""
    out = run(lambda rt: webhooks.delete_endpoint(rt, CLI, endpoint_id))
    emit(out, as_json, lambda: typer.echo(f"deleted {out['id']}"))


@webhooks_app.command("rotate-secret")
def rotate_secret(
    endpoint_id: EndpointArg,
    grace_seconds: Annotated[
        int | None,
        typer.Option(help="How long the old secret keeps signing (default: the setting)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """A new secret (shown once); both are used to sign during the grace period."""
    out = run(lambda rt: webhooks.rotate_secret(rt, CLI, endpoint_id, grace_seconds=grace_seconds))

    def human() -> None:
        typer.echo(f"secret (shown once): {out['secret']}")
        typer.echo(f"previous secret valid until: {out['previous_secret_expires_at']}")

    emit(out, as_json, human)


@deliveries_app.command("list")
def deliveries_list(
    state: Annotated[
        str | None, typer.Option(help="pending, delivered, dead (the dead letters), dropped.")
    ] = None,
    kind: Annotated[str | None, typer.Option(help="webhook, backchannel_logout, ssf.")] = None,
    destination: Annotated[str | None, typer.Option(help="Endpoint, client or stream id.")] = None,
    tenant: Annotated[str | None, typer.Option(help="Tenant id.")] = None,
    after: Annotated[int, typer.Option(help="Only ids after this one.")] = 0,
    limit: Annotated[int, typer.Option(help="At most this many (1..1000).")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """List deliveries, oldest first."""
    out = run(
        lambda rt: webhooks.list_deliveries(
            rt,
            state=state,
            kind=kind,
            destination=destination,
            tenant_id=tenant,
            after=after,
            limit=limit,
        )
    )
    columns = ["id", "kind", "destination", "tenant_id", "state", "attempts", "last_error"]
    emit(out, as_json, lambda: table(out["data"], columns))


@deliveries_app.command("show")
def deliveries_show(
    delivery_id: Annotated[int, typer.Argument(help="The delivery's id.")],
    as_json: JsonOpt = False,
) -> None:
    """A delivery, its payload and every attempt."""
    out = run(lambda rt: webhooks.show_delivery(rt, delivery_id))
    emit(out, as_json, lambda: fields(out))


@deliveries_app.command("replay")
def deliveries_replay(
    delivery_id: Annotated[
        list[int] | None, typer.Argument(help="Dead deliveries to try again.")
    ] = None,
    destination: Annotated[
        str | None, typer.Option(help="Every dead delivery of this destination.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Try dead deliveries again, with a fresh retry period."""
    out = run(lambda rt: webhooks.replay(rt, CLI, ids=delivery_id or [], destination=destination))
    emit(out, as_json, lambda: typer.echo(f"replayed {len(out['replayed'])}"))
