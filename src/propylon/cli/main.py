"""``propylon`` entry point.

The ``--json`` output of every command is a stable contract for automation.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from propylon.admin import tenants as ops
from propylon.audit import Actor
from propylon.cli import apps as apps_cli
from propylon.cli import directory as directory_cli
from propylon.cli import domains as domains_cli
from propylon.cli import events as events_cli
from propylon.cli import oidc as oidc_cli
from propylon.cli import operators as operators_cli
from propylon.cli import portal as portal_cli
from propylon.cli import roles as roles_cli
from propylon.cli import saml as saml_cli
from propylon.cli import secrets as secrets_cli
from propylon.cli import server as server_cli
from propylon.cli import sessions as sessions_cli
from propylon.cli import tenant_policy as tenant_policy_cli
from propylon.cli import webhooks as webhooks_cli
from propylon.cli.common import (
    emit,
    fail,
    fields,
    run,
    table,
)

CLI = Actor("cli", "cli")
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
TenantArg = Annotated[str, typer.Argument(help="Tenant slug or id.")]
DirectoryArg = Annotated[str, typer.Argument(help="SCIM directory id (dir_…).")]

app = typer.Typer(no_args_is_help=True, help="Propylon: SSO, SCIM and identity for B2B SaaS.")
tenant_app = typer.Typer(no_args_is_help=True, help="Tenants (your customers).")
scim_app = typer.Typer(no_args_is_help=True, help="SCIM directories and their tokens.")
key_app = typer.Typer(no_args_is_help=True, help="Management API keys.")
audit_app = typer.Typer(no_args_is_help=True, help="The audit trail.")
app.add_typer(tenant_app, name="tenant")
app.add_typer(scim_app, name="scim")
app.add_typer(key_app, name="api-key")
app.add_typer(audit_app, name="audit")
app.add_typer(apps_cli.app, name="app")
app.add_typer(apps_cli.keys_app, name="keys")
app.add_typer(saml_cli.saml_app, name="saml")
app.add_typer(oidc_cli.oidc_app, name="oidc")
app.add_typer(domains_cli.domain_app, name="domain")
app.add_typer(directory_cli.user_app, name="user")
app.add_typer(directory_cli.group_app, name="group")
app.add_typer(secrets_cli.secrets_app, name="secrets")
app.add_typer(webhooks_cli.webhooks_app, name="webhooks")
app.add_typer(webhooks_cli.deliveries_app, name="deliveries")
app.add_typer(events_cli.events_app, name="events")
app.add_typer(roles_cli.roles_app, name="roles")
app.add_typer(sessions_cli.sessions_app, name="sessions")
app.add_typer(operators_cli.operator_app, name="operator")
app.add_typer(portal_cli.portal_app, name="portal")
app.command()(server_cli.serve)
app.command()(server_cli.demo)
app.command()(server_cli.migrate)


@tenant_app.command("create")
def tenant_create(
    slug: Annotated[str, typer.Argument(help="Short unique name, used in URLs.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    domain: Annotated[list[str] | None, typer.Option(help="Email domain (repeatable).")] = None,
    seats: Annotated[int | None, typer.Option(help="Licence seats; unlimited if omitted.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a tenant."""
    view = run(
        lambda rt: ops.create_tenant(
            rt, CLI, slug=slug, name=name, domains=domain or [], seats=seats
        )
    )
    emit(view.as_dict(), as_json, lambda: typer.echo(f"created tenant {view.slug} ({view.id})"))


@tenant_app.command("list")
def tenant_list(as_json: JsonOpt = False) -> None:
    """List tenants."""
    views = [t.as_dict() for t in run(ops.list_tenants)]
    emit(views, as_json, lambda: table(views, ["slug", "id", "name", "seats", "seats_used"]))


@tenant_app.command("show")
def tenant_show(tenant: TenantArg, as_json: JsonOpt = False) -> None:
    """Show one tenant by slug or id."""
    view = run(lambda rt: ops.describe_tenant(rt, tenant)).as_dict()
    emit(view, as_json, lambda: fields(view))


@tenant_app.command("set-seats")
def tenant_set_seats(
    tenant: TenantArg,
    seats: Annotated[int | None, typer.Argument(help="Seats (0 means none).")] = None,
    unlimited: Annotated[
        bool, typer.Option("--unlimited", help="Remove the seat limit instead.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Change a tenant's licence seat limit: a number, or --unlimited."""
    if (seats is None) == (not unlimited):
        raise fail("give a number of seats or --unlimited (not both)", "invalid_input", 2)
    view = run(lambda rt: ops.update_tenant(rt, CLI, tenant, name=None, seats=seats)).as_dict()
    limit = "unlimited" if view["seats"] is None else str(view["seats"])
    emit(view, as_json, lambda: typer.echo(f"{view['slug']}: {limit} seats"))


tenant_app.command("update")(tenant_policy_cli.tenant_update)


@tenant_app.command("delete")
def tenant_delete(
    tenant: TenantArg,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this ends every sign-in.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete a tenant: sign-ins end, tokens are revoked, connections disabled at once; its
    data is kept for PROPYLON_RETENTION_DAYS, then `propylon purge` removes it."""
    if not yes:
        raise fail("deleting a tenant ends every sign-in of its people: add --yes", "usage", 2)
    out = run(lambda rt: ops.delete_tenant(rt, CLI, tenant))
    emit(out, as_json, lambda: typer.echo(f"deleted tenant {out['slug']} (data kept until purge)"))


@scim_app.command("create-directory")
def scim_create_directory(
    tenant: TenantArg,
    name: Annotated[str | None, typer.Option(help="Directory name.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a SCIM directory; prints its base URL and a token shown only once."""
    out = run(lambda rt: ops.create_directory(rt, CLI, tenant, name=name))

    def human() -> None:
        typer.echo(f"SCIM base URL: {out['base_url']}")
        typer.echo(f"Bearer token (shown once): {out['token']}")

    emit(out, as_json, human)


@scim_app.command("list-directories")
def scim_list_directories(tenant: TenantArg, as_json: JsonOpt = False) -> None:
    """List a tenant's SCIM directories."""
    rows = run(lambda rt: ops.list_directories(rt, tenant))
    emit(rows, as_json, lambda: table(rows, ["directory_id", "name", "base_url"]))


@scim_app.command("rotate-token")
def scim_rotate_token(directory_id: DirectoryArg, as_json: JsonOpt = False) -> None:
    """Issue a new token; earlier tokens keep working for the grace period."""
    out = run(lambda rt: ops.rotate_token(rt, CLI, directory_id))

    def human() -> None:
        typer.echo(f"New bearer token (shown once): {out['token']}")
        typer.echo(f"Previous tokens valid until {out['previous_tokens_valid_until']}")

    emit(out, as_json, human)


@scim_app.command("revoke-token")
def scim_revoke_token(directory_id: DirectoryArg, as_json: JsonOpt = False) -> None:
    """Revoke every token of a directory now."""
    out = run(lambda rt: ops.revoke_tokens(rt, CLI, directory_id))
    emit(out, as_json, lambda: typer.echo(f"revoked {out['revoked']} token(s)"))


@scim_app.command("delete-directory")
def scim_delete_directory(
    directory_id: DirectoryArg,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: deprovisions its users.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete a SCIM directory: its tokens are revoked and its users and groups deprovisioned
    (kept for the retention period)."""
    if not yes:
        raise fail("deleting a directory deprovisions its users: add --yes", "usage", 2)
    out = run(lambda rt: ops.delete_directory(rt, CLI, directory_id))
    emit(
        out,
        as_json,
        lambda: typer.echo(
            f"deleted {directory_id}: {out['users_deprovisioned']} users deprovisioned"
        ),
    )


@key_app.command("create")
def api_key_create(
    name: Annotated[str, typer.Option(help="What the key is for.")] = "host platform",
    as_json: JsonOpt = False,
) -> None:
    """Create a management API key (shown once)."""
    out = run(lambda rt: ops.create_api_key(rt, CLI, name))
    emit(out, as_json, lambda: typer.echo(f"API key {out['id']} (shown once): {out['key']}"))


@key_app.command("list")
def api_key_list(as_json: JsonOpt = False) -> None:
    """List management API keys (names and dates; the keys themselves are never stored)."""
    rows = run(ops.list_api_keys)
    emit(rows, as_json, lambda: table(rows, ["id", "name", "created_at", "revoked_at"]))


@key_app.command("revoke")
def api_key_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (not the key).")],
    as_json: JsonOpt = False,
) -> None:
    """Revoke a management API key."""
    run(lambda rt: ops.revoke_api_key(rt, CLI, key_id))
    emit({"id": key_id, "revoked": True}, as_json, lambda: typer.echo(f"revoked {key_id}"))


@audit_app.command("list")
def audit_list(
    tenant: Annotated[str | None, typer.Argument(help="A tenant; none: the whole trail.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Most entries shown.")] = 100,
    action: Annotated[str | None, typer.Option(help="Only this action.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Newest audit entries first: of a tenant, or of everything (platform actions such as
    apps and API keys included)."""
    rows = run(lambda rt: ops.audit_trail(rt, tenant, limit=limit, action=action))
    emit(
        rows,
        as_json,
        lambda: table(rows, ["time", "action", "outcome", "status", "target_id", "reason"]),
    )


@app.command()
def purge(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would go.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Remove deprovisioned users and deleted groups past the retention period, and expired
    sign-in state (codes, refresh tokens, pending SAML requests, database sessions)."""
    found = [c.as_dict() for c in run(lambda rt: ops.purge_deprovisioned(rt, CLI, dry_run=dry_run))]
    expired = run(lambda rt: ops.purge_expired_sign_in_state(rt, CLI, dry_run=dry_run))

    def human() -> None:
        table(found, ["kind", "tenant", "name", "deleted_at", "id"])
        typer.echo(f"{'would purge' if dry_run else 'purged'} {len(found)}")
        gone = ", ".join(f"{n} {name}" for name, n in expired.items())
        typer.echo(f"expired sign-in state {'to remove' if dry_run else 'removed'}: {gone}")

    emit({"dry_run": dry_run, "purged": found, "expired": expired}, as_json, human)


def main() -> None:
    """Entry point. Usage errors (a missing argument, an unknown option) follow ``--json``
    too: one JSON error document on stdout, exit status 2."""
    if "--json" not in sys.argv[1:]:
        app()
        return
    try:
        status = app(standalone_mode=False)
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except typer.Abort:
        raise SystemExit(1) from None
    except Exception as exc:
        # Click's usage errors (vendored by typer) carry their own message and exit status
        if not hasattr(exc, "format_message"):
            raise
        message = {"code": "usage", "message": exc.format_message()}
        sys.stdout.write(json.dumps({"error": message}) + "\n")
        raise SystemExit(getattr(exc, "exit_code", 2)) from None
    if isinstance(status, int) and status:
        raise SystemExit(status)
