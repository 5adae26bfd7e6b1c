"""``propylon tenant update``: a tenant's name and how its people sign in (SSO enforced,
password, Google, vanity host name)."""

from __future__ import annotations

from typing import Annotated

import typer

from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from propylon.cli.common import emit, fail, fields, run
from propylon.runtime import Runtime
from propylon.tenants.service import SignInPolicy, TenantView

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
TenantArg = Annotated[str, typer.Argument(help="Tenant slug or id.")]


def tenant_update(
    tenant: TenantArg,
    name: Annotated[str | None, typer.Option(help="New display name.")] = None,
    enforce_sso: Annotated[
        bool | None,
        typer.Option(
            "--enforce-sso/--no-enforce-sso",
            help="Only SSO for the tenant's domains; ends their password and Google sessions.",
        ),
    ] = None,
    password: Annotated[
        bool | None, typer.Option("--password/--no-password", help="Allow password sign-in.")
    ] = None,
    google: Annotated[
        bool | None, typer.Option("--google/--no-google", help="Allow Google sign-in.")
    ] = None,
    hostname: Annotated[
        str | None, typer.Option(metavar="HOST", help="Vanity host name going to the SSO.")
    ] = None,
    no_hostname: Annotated[
        bool, typer.Option("--no-hostname", help="Remove the vanity host name.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Rename a tenant or change how its people sign in (seats: set-seats)."""
    if hostname is not None and no_hostname:
        raise fail("give --hostname HOST or --no-hostname (not both)", "invalid_input", 2)
    policy = SignInPolicy(enforce_sso, password, google, "" if no_hostname else hostname)
    if name is None and policy == SignInPolicy():
        raise fail("nothing to change", "invalid_input", 2)

    async def change(rt: Runtime) -> TenantView:
        view = None
        if name is not None:
            view = await ops.update_tenant(rt, CLI, tenant, name=name, seats=False)
        if policy != SignInPolicy():
            view = await ops.set_sign_in_policy(rt, CLI, tenant, policy)
        assert view is not None
        return view

    view = run(change).as_dict()
    emit(view, as_json, lambda: fields(view))
