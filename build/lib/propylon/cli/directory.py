"""``propylon user list|show`` and ``propylon group list|show``: a tenant's directory, read
only (SCIM is how it changes)."""

from __future__ import annotations

from typing import Annotated

import typer

from propylon.admin import directories as people
from propylon.cli.common import emit, fields, run, table
from propylon.directory.views import UserFilter

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
TenantArg = Annotated[str, typer.Argument(help="Tenant slug or id.")]
LimitOpt = Annotated[int, typer.Option(min=1, max=1000, help="Most entries shown.")]
OffsetOpt = Annotated[int, typer.Option(min=0, help="Entries skipped (paging).")]

user_app = typer.Typer(no_args_is_help=True, help="A tenant's users (read only).")
group_app = typer.Typer(no_args_is_help=True, help="A tenant's groups (read only).")


@user_app.command("list")
def list_users(
    tenant: TenantArg,
    active: Annotated[
        bool | None, typer.Option("--active/--inactive", help="Only active or inactive users.")
    ] = None,
    email: Annotated[str | None, typer.Option(help="Only the user with this email.")] = None,
    group: Annotated[str | None, typer.Option(help="Only direct members of this group id.")] = None,
    limit: LimitOpt = 100,
    offset: OffsetOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """List users, oldest first (deprovisioned ones left out)."""
    where = UserFilter(active=active, email=email, group_id=group)
    rows = run(lambda rt: people.list_users(rt, tenant, offset=offset, limit=limit, where=where))
    emit(rows, as_json, lambda: table(rows, ["id", "user_name", "email", "active", "department"]))


@user_app.command("show")
def show_user(
    tenant: TenantArg,
    user_id: Annotated[str, typer.Argument(help="The user's id.")],
    as_json: JsonOpt = False,
) -> None:
    """Show one user with its groups."""
    out = run(lambda rt: people.get_user(rt, tenant, user_id))

    def human() -> None:
        fields({k: v for k, v in out.items() if k != "groups"})
        typer.echo("groups: " + (", ".join(g["display_name"] for g in out["groups"]) or "-"))

    emit(out, as_json, human)


@group_app.command("list")
def list_groups(
    tenant: TenantArg, limit: LimitOpt = 100, offset: OffsetOpt = 0, as_json: JsonOpt = False
) -> None:
    """List groups, oldest first."""
    rows = run(lambda rt: people.list_groups(rt, tenant, offset=offset, limit=limit))
    emit(rows, as_json, lambda: table(rows, ["id", "display_name", "external_id"]))


@group_app.command("show")
def show_group(
    tenant: TenantArg,
    group_id: Annotated[str, typer.Argument(help="The group's id.")],
    as_json: JsonOpt = False,
) -> None:
    """Show one group with its members."""
    out = run(lambda rt: people.get_group(rt, tenant, group_id))

    def human() -> None:
        fields({k: v for k, v in out.items() if k != "members"})
        table(out["members"], ["type", "id", "user_name", "email", "display_name"])

    emit(out, as_json, human)
