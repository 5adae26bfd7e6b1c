"""``propylon domain add|list|bind|remove|verify-start|verify``: a tenant's email domains,
their connections, and the DNS proof of a claimed one."""

from __future__ import annotations

from typing import Annotated

import typer

from propylon.admin import domains as ops
from propylon.admin.audited import CLI
from propylon.cli.common import emit, fail, run, table

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
TenantArg = Annotated[str, typer.Argument(help="Tenant slug or id.")]
DomainArg = Annotated[str, typer.Argument(help="Email domain, e.g. acme.com.")]
ConnectionOpt = Annotated[
    str | None,
    typer.Option(
        "--connection",
        metavar="CONN",
        help="The tenant's connection this domain's people sign in through.",
    ),
]

domain_app = typer.Typer(
    no_args_is_help=True, help="Email domains: which tenant, and which of its connections."
)


@domain_app.command("add")
def add(
    tenant: TenantArg, domain: DomainArg, connection: ConnectionOpt = None, as_json: JsonOpt = False
) -> None:
    """Add an email domain to a tenant (with several connections, bind it with --connection)."""
    view = run(lambda rt: ops.add_domain(rt, CLI, tenant, domain, connection)).as_dict()
    bound = f" via {view['connection_id']}" if view["connection_id"] else ""
    emit(view, as_json, lambda: typer.echo(f"added {view['domain']}{bound}"))


@domain_app.command("list")
def list_(tenant: TenantArg, as_json: JsonOpt = False) -> None:
    """List a tenant's domains and their connections."""
    rows = [d.as_dict() for d in run(lambda rt: ops.list_domains(rt, tenant))]
    emit(rows, as_json, lambda: table(rows, ["domain", "connection_id", "created_at"]))


@domain_app.command("bind")
def bind(
    tenant: TenantArg,
    domain: DomainArg,
    connection: ConnectionOpt = None,
    unbind: Annotated[bool, typer.Option("--none", help="Bind to no connection.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Route the domain's logins to one of the tenant's connections (or, --none, to none)."""
    if (connection is None) != unbind:
        raise fail("give --connection CONN or --none", "invalid_input", 2)
    view = run(lambda rt: ops.bind_domain(rt, CLI, tenant, domain, connection)).as_dict()
    target = view["connection_id"] or "no connection"
    emit(view, as_json, lambda: typer.echo(f"{view['domain']} → {target}"))


@domain_app.command("remove")
def remove(tenant: TenantArg, domain: DomainArg, as_json: JsonOpt = False) -> None:
    """Remove a domain from a tenant."""
    gone = run(lambda rt: ops.remove_domain(rt, CLI, tenant, domain))
    emit({"domain": gone, "removed": True}, as_json, lambda: typer.echo(f"removed {gone}"))


@domain_app.command("verify-start")
def verify_start(tenant: TenantArg, domain: DomainArg, as_json: JsonOpt = False) -> None:
    """The DNS TXT record that proves the tenant controls DOMAIN (claimed, unverified, it
    routes no one until `verify` finds the record)."""
    out = run(lambda rt: ops.start_verification(rt, CLI, tenant, domain))
    emit(
        out,
        as_json,
        lambda: typer.echo(
            f"publish at {out['record_name']}:\n  TXT {out['record_value']}\n"
            f"then run: propylon domain verify {tenant} {out['domain']}"
        ),
    )


@domain_app.command("verify")
def verify(tenant: TenantArg, domain: DomainArg, as_json: JsonOpt = False) -> None:
    """Look the TXT record up: found, the domain routes its people to the tenant (exit 0);
    otherwise exit 1 with the outcome (record_missing, value_mismatch, dns_error)."""
    out = run(lambda rt: ops.verify(rt, CLI, tenant, domain))
    emit(out, as_json, lambda: typer.echo(f"{out['domain']}: {out['outcome']}"))
    if out["outcome"] != "verified":
        raise typer.Exit(1)
