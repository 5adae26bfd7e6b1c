"""``propylon saml …``: SAML connections of a tenant."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from cryptography import x509

from propylon.admin import saml_connections as ops
from propylon.admin.audited import CLI
from propylon.cli.common import emit, fail, fields, run, table
from propylon.errors import InvalidInput
from propylon.tenants.attribute_maps import DEFAULT_PRESET, PRESETS, parse_overrides
from propylon.tenants.saml_connection_edits import ConnectionChanges
from propylon.tenants.saml_connections import IdpSource

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
TenantArg = Annotated[str, typer.Argument(help="Tenant slug or id.")]
PresetOpt = Annotated[str, typer.Option(help=f"Attribute names preset: {', '.join(PRESETS)}.")]
AttributeOpt = Annotated[
    list[str] | None,
    typer.Option(
        metavar="FIELD=NAME",
        help="IdP attribute for a user field, over the preset (repeatable): "
        "email, given_name, family_name, display_name, department, groups.",
    ),
]
ConnectionArg = Annotated[str, typer.Argument(help="SAML connection id (conn_…).")]
saml_app = typer.Typer(no_args_is_help=True, help="SAML 2.0 connections (upstream IdPs).")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        typer.echo(f"error: cannot read {path}: {exc.strerror}", err=True)
        raise typer.Exit(1) from None


def _source(
    metadata_file: Path | None,
    metadata_url: str | None,
    sso_url: str | None,
    idp_entity_id: str | None,
    cert_file: list[Path] | None,
    slo_url: str | None = None,
) -> IdpSource:
    chosen = sum(x is not None for x in (metadata_file, metadata_url, sso_url))
    if chosen != 1:
        typer.echo(
            "error: give exactly one of --metadata-file, --metadata-url, "
            "or --sso-url with --idp-entity-id and --cert-file",
            err=True,
        )
        raise typer.Exit(2)
    if metadata_file is not None:
        return IdpSource(metadata_xml=_read(metadata_file))
    if metadata_url is not None:
        return IdpSource(metadata_url=metadata_url)
    try:
        certs = tuple(x509.load_pem_x509_certificate(_read(p)) for p in cert_file or [])
    except ValueError:
        typer.echo("error: --cert-file must be a PEM certificate", err=True)
        raise typer.Exit(1) from None
    return IdpSource(
        sso_url=sso_url, idp_entity_id=idp_entity_id, certificates=certs, slo_url=slo_url
    )


def _overrides(pairs: list[str] | None) -> dict[str, str] | None:
    try:
        return parse_overrides(pairs or []) or None
    except InvalidInput as exc:
        raise fail(exc.detail, "invalid_input", 2) from None


@saml_app.command("create-connection")
def create_connection(
    tenant: TenantArg,
    metadata_file: Annotated[Path | None, typer.Option(help="IdP metadata XML file.")] = None,
    metadata_url: Annotated[str | None, typer.Option(help="IdP metadata URL (refreshed).")] = None,
    sso_url: Annotated[str | None, typer.Option(help="IdP SSO URL (HTTP-Redirect).")] = None,
    slo_url: Annotated[
        str | None, typer.Option(help="IdP Single Logout URL (HTTP-Redirect), with --sso-url.")
    ] = None,
    idp_entity_id: Annotated[str | None, typer.Option(help="IdP entity id.")] = None,
    cert_file: Annotated[
        list[Path] | None, typer.Option(help="IdP signing cert PEM (repeatable).")
    ] = None,
    sp_entity_id: Annotated[str | None, typer.Option(help="Keep an existing SP entity id.")] = None,
    allow_idp_initiated: Annotated[
        bool,
        typer.Option("--allow-idp-initiated", help="Accept IdP-initiated logins (off: refused)."),
    ] = False,
    idp_initiated_app: Annotated[
        str | None,
        typer.Option(
            "--idp-initiated-app",
            metavar="CLIENT_ID",
            help="App IdP-initiated logins land in (default: the only confidential app).",
        ),
    ] = None,
    jit: Annotated[
        bool, typer.Option("--jit", help="Create unknown users at first login.")
    ] = False,
    preset: PresetOpt = DEFAULT_PRESET,
    attribute: AttributeOpt = None,
    match_by: Annotated[str, typer.Option(help="email, user_name or external_id.")] = "email",
    name: Annotated[str | None, typer.Option(help="Connection name.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Connect a tenant's SAML IdP; prints the SP values to paste into the IdP."""
    source = _source(metadata_file, metadata_url, sso_url, idp_entity_id, cert_file, slo_url)
    overrides = _overrides(attribute)
    out = run(
        lambda rt: ops.create_connection(
            rt,
            CLI,
            tenant,
            source,
            name=name,
            sp_entity_id=sp_entity_id,
            allow_idp_initiated=allow_idp_initiated,
            jit=jit,
            preset=preset,
            match_by=match_by,
            idp_initiated_app=idp_initiated_app,
            attribute_overrides=overrides,
        )
    )

    def human() -> None:
        typer.echo(f"connection {out['connection_id']}")
        for key in ("sp_entity_id", "acs_url", "sp_metadata_url"):
            typer.echo(f"{key}: {out[key]}")

    emit(out, as_json, human)


@saml_app.command("list-connections")
def list_connections(tenant: TenantArg, as_json: JsonOpt = False) -> None:
    """List a tenant's SAML connections with certificate expiry."""
    rows = run(lambda rt: ops.list_connections(rt, tenant))
    emit(rows, as_json, lambda: table(rows, ["connection_id", "idp_entity_id", "sp_entity_id"]))


@saml_app.command("refresh-metadata")
def refresh_metadata(connection_id: ConnectionArg, as_json: JsonOpt = False) -> None:
    """Re-read the IdP metadata URL now (new signing certificates are trusted at once)."""
    out = run(lambda rt: ops.refresh_metadata(rt, CLI, connection_id))
    emit(out, as_json, lambda: typer.echo(f"refreshed {out['connection_id']}"))


@saml_app.command("show")
def show_connection(connection_id: ConnectionArg, as_json: JsonOpt = False) -> None:
    """Show a connection: IdP, SP values, mapping, certificate expiry, disabled or not."""
    out = run(lambda rt: ops.show_connection(rt, connection_id))
    emit(out, as_json, lambda: fields(out))


@saml_app.command("update")
def update_connection(
    connection_id: ConnectionArg,
    metadata_file: Annotated[Path | None, typer.Option(help="New IdP metadata XML file.")] = None,
    metadata_url: Annotated[str | None, typer.Option(help="New IdP metadata URL.")] = None,
    sso_url: Annotated[str | None, typer.Option(help="New IdP SSO URL (by hand).")] = None,
    slo_url: Annotated[str | None, typer.Option(help="IdP SLO URL, with --sso-url.")] = None,
    idp_entity_id: Annotated[str | None, typer.Option(help="IdP entity id (by hand).")] = None,
    cert_file: Annotated[
        list[Path] | None, typer.Option(help="IdP signing cert PEM (repeatable, by hand).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="New connection name.")] = None,
    allow_idp_initiated: Annotated[
        bool | None,
        typer.Option(
            "--allow-idp-initiated/--no-idp-initiated", help="Accept IdP-initiated logins or not."
        ),
    ] = None,
    idp_initiated_app: Annotated[
        str | None,
        typer.Option(metavar="CLIENT_ID", help="App IdP-initiated logins land in ('' clears)."),
    ] = None,
    jit: Annotated[
        bool | None, typer.Option("--jit/--no-jit", help="Create unknown users at first login.")
    ] = None,
    preset: Annotated[
        str | None, typer.Option(help=f"Rebuild the mapping from a preset: {', '.join(PRESETS)}.")
    ] = None,
    attribute: AttributeOpt = None,
    match_by: Annotated[str | None, typer.Option(help="email, user_name or external_id.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a connection: new IdP metadata or values, settings, attribute mapping."""
    given = (metadata_file, metadata_url, sso_url, idp_entity_id, cert_file)
    source = (
        _source(metadata_file, metadata_url, sso_url, idp_entity_id, cert_file, slo_url)
        if any(v is not None for v in given)
        else None
    )
    overrides = _overrides(attribute)
    changes = ConnectionChanges(
        name=name,
        source=source,
        allow_idp_initiated=allow_idp_initiated,
        idp_initiated_app=idp_initiated_app,
        jit=jit,
        match_by=match_by,
        preset=preset,
        attribute_overrides=overrides,
    )
    out = run(lambda rt: ops.update_connection(rt, CLI, connection_id, changes))
    emit(out, as_json, lambda: typer.echo(f"updated {out['connection_id']}"))


def _set_disabled(connection_id: str, disabled: bool, as_json: bool) -> None:
    changes = ConnectionChanges(disabled=disabled)
    out = run(lambda rt: ops.update_connection(rt, CLI, connection_id, changes))
    state = "disabled" if out["disabled"] else "enabled"
    emit(out, as_json, lambda: typer.echo(f"{out['connection_id']} {state}"))


@saml_app.command("disable")
def disable_connection(connection_id: ConnectionArg, as_json: JsonOpt = False) -> None:
    """Stop all sign-in and logout through a connection (kept; `enable` undoes it)."""
    _set_disabled(connection_id, True, as_json)


@saml_app.command("enable")
def enable_connection(connection_id: ConnectionArg, as_json: JsonOpt = False) -> None:
    """Let a disabled connection sign people in again."""
    _set_disabled(connection_id, False, as_json)


@saml_app.command("delete")
def delete_connection(connection_id: ConnectionArg, as_json: JsonOpt = False) -> None:
    """Delete a connection (its users stay in the directory; bound domains are unbound)."""
    out = run(lambda rt: ops.delete_connection(rt, CLI, connection_id))
    emit(out, as_json, lambda: typer.echo(f"deleted {out['connection_id']}"))


__all__ = ["saml_app"]
