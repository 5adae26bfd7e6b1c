"""``propylon saml …``: SAML connections of a tenant."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from cryptography import x509

from propylon.cli.common import emit, run, table
from propylon.tenants import operations_saml as ops
from propylon.tenants.operations import CLI
from propylon.tenants.saml_connections import IdpSource

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
TenantArg = Annotated[str, typer.Argument(help="Tenant slug or id.")]
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
    preset: Annotated[str, typer.Option(help="Attribute names: okta, entra or google.")] = "okta",
    match_by: Annotated[str, typer.Option(help="email, user_name or external_id.")] = "email",
    name: Annotated[str | None, typer.Option(help="Connection name.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Connect a tenant's SAML IdP; prints the SP values to paste into the IdP."""
    source = _source(metadata_file, metadata_url, sso_url, idp_entity_id, cert_file, slo_url)
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


__all__ = ["saml_app"]
