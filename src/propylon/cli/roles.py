"""``propylon roles …``: the platform's catalogue of roles, tiers and programs, tenants'
entitlement rules (show, set from a JSON file with ``--dry-run``, versions), a user's
entitlements and a tenant-wide recompute (:mod:`propylon.admin.entitlements`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from propylon.admin import entitlements as ops
from propylon.admin.audited import CLI
from propylon.cli.common import emit, fail, fields, run, table

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
Tenant = Annotated[str, typer.Argument(help="Tenant id or slug.")]

roles_app = typer.Typer(no_args_is_help=True, help="Entitlements: roles, tiers, programs, rules.")
catalog_app = typer.Typer(no_args_is_help=True, help="What the platform declares.")
rules_app = typer.Typer(no_args_is_help=True, help="A tenant's entitlement rules.")
roles_app.add_typer(catalog_app, name="catalog")
roles_app.add_typer(rules_app, name="rules")


@catalog_app.command("add")
def catalog_add(
    kind: Annotated[str, typer.Argument(help="role, tier or program")],
    name: Annotated[str, typer.Argument(help="The name rules and claims use.")],
    description: Annotated[str | None, typer.Option(help="What it means.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Declare a role, tier or program."""
    out = run(lambda rt: ops.catalog_add(rt, CLI, kind, name, description))
    emit(out, as_json, lambda: typer.echo(f"declared {out['kind']} {out['name']}"))


@catalog_app.command("list")
def catalog_list(
    kind: Annotated[str | None, typer.Option(help="Only this kind.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List what the platform declares."""
    rows = run(lambda rt: ops.catalog_list(rt, kind))
    emit(rows, as_json, lambda: table(rows, ["kind", "name", "description"]))


@catalog_app.command("remove")
def catalog_remove(
    kind: Annotated[str, typer.Argument(help="role, tier or program")],
    name: Annotated[str, typer.Argument(help="The declared name.")],
    as_json: JsonOpt = False,
) -> None:
    """Remove a declared name (refused while a tenant's rules grant it)."""
    out = run(lambda rt: ops.catalog_remove(rt, CLI, kind, name))
    emit(out, as_json, lambda: typer.echo(f"removed {kind} {name}"))


@rules_app.command("show")
def rules_show(tenant: Tenant, as_json: JsonOpt = False) -> None:
    """The tenant's current rule set and its version."""
    out = run(lambda rt: ops.rules_show(rt, tenant))
    emit(out, as_json, lambda: typer.echo(json.dumps(out, indent=2)))


def _read_doc(path: str) -> Any:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        return json.loads(text)
    except (OSError, ValueError) as exc:
        raise fail(f"cannot read a JSON rule set from {path}: {exc}", "invalid_input") from None


@rules_app.command("set")
def rules_set(
    tenant: Tenant,
    file: Annotated[str, typer.Option("--file", "-f", help="JSON rule set ('-': stdin).")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show whose entitlements change; save nothing.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Validate and save the tenant's rule set (its next version), or only show what it
    would change."""
    doc = _read_doc(file)
    if dry_run:
        out = run(lambda rt: ops.rules_dry_run(rt, tenant, doc))

        def human() -> None:
            typer.echo(f"{out['changed']} of {out['evaluated']} user(s) would change")
            for c in out["changes"]:
                typer.echo(f"  {c['user_name']}: +{c['added']} -{c['removed']} tier {c['tier']}")

        emit(out, as_json, human)
        return
    out = run(lambda rt: ops.rules_set(rt, CLI, tenant, doc))
    emit(
        out,
        as_json,
        lambda: typer.echo(
            f"saved version {out['version']}: {out['users_changed']} user(s) changed"
        ),
    )


@rules_app.command("versions")
def rules_versions(tenant: Tenant, as_json: JsonOpt = False) -> None:
    """Every saved version of the tenant's rule set, newest first."""
    rows = run(lambda rt: ops.rules_history(rt, tenant))
    emit(rows, as_json, lambda: table(rows, ["version", "actor", "created_at"]))


@roles_app.command("user")
def user_show(
    tenant: Tenant,
    user_id: Annotated[str, typer.Argument(help="The user's id.")],
    as_json: JsonOpt = False,
) -> None:
    """A user's entitlements and the group names the rules see."""
    out = run(lambda rt: ops.user_entitlements(rt, tenant, user_id))
    emit(out, as_json, lambda: fields(out))


@roles_app.command("recompute")
def recompute(tenant: Tenant, as_json: JsonOpt = False) -> None:
    """Recompute every user of the tenant with its stored rules."""
    out = run(lambda rt: ops.recompute_tenant(rt, CLI, tenant))
    emit(out, as_json, lambda: typer.echo(f"{out['users_changed']} user(s) changed"))
