"""``propylon oidc …``: OpenID Connect connections of a tenant (Propylon as relying party)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from propylon.admin import oidc_connections as ops
from propylon.admin.audited import CLI
from propylon.cli.common import emit, fail, fields, run, table
from propylon.errors import InvalidInput
from propylon.tenants.attribute_maps import parse_overrides
from propylon.tenants.oidc_client_rules import AUTH_METHODS, MAX_KEY_PEM
from propylon.tenants.oidc_connection_edits import OidcConnectionChanges
from propylon.tenants.oidc_connections import MATCH_BY, OidcConnectionDraft
from propylon.tenants.oidc_presets import CLAIM_FIELDS, DEFAULT_PRESET, PRESETS

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
TenantArg = Annotated[str, typer.Argument(help="Tenant slug or id.")]
ConnectionArg = Annotated[str, typer.Argument(help="OIDC connection id (oidc_…).")]
SecretOpt = Annotated[
    str | None, typer.Option(help="Client secret (client_secret_basic / client_secret_post).")
]
KeyFileOpt = Annotated[
    Path | None,
    typer.Option(help="PEM private key (RSA or EC) signing private_key_jwt client assertions."),
]
MethodOpt = Annotated[
    str | None, typer.Option(help=f"Token endpoint authentication: {', '.join(AUTH_METHODS)}.")
]
ScopeOpt = Annotated[
    list[str] | None,
    typer.Option("--scope", help="Scope to request (repeatable; openid is always added)."),
]
AudienceOpt = Annotated[
    list[str] | None,
    typer.Option("--trusted-audience", help="Another audience an ID token may name (repeatable)."),
]
ClaimOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--claim",
        metavar="FIELD=CLAIM",
        help="Claim for a user field, over the preset (repeatable): " + ", ".join(CLAIM_FIELDS),
    ),
]
MatchOpt = Annotated[str | None, typer.Option(help=f"How users are found: {', '.join(MATCH_BY)}.")]
oidc_app = typer.Typer(no_args_is_help=True, help="OpenID Connect connections (upstream IdPs).")


def _key(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_KEY_PEM + 1)
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror}") from None
    if len(raw) > MAX_KEY_PEM:
        raise fail(f"{path} is larger than a private key", "invalid_input")
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        raise fail(f"{path} is not a PEM file", "invalid_input") from None


def _claims(pairs: list[str] | None) -> dict[str, str] | None:
    try:
        return parse_overrides(pairs or [], "--claim") or None
    except InvalidInput as exc:
        raise fail(exc.detail, "invalid_input", 2) from None


@oidc_app.command("create-connection")
def create_connection(
    tenant: TenantArg,
    issuer: Annotated[str, typer.Option(help="The OpenID Provider's issuer URL.")],
    client_id: Annotated[str, typer.Option(help="Client id registered at the provider.")],
    client_secret: SecretOpt = None,
    private_key_file: KeyFileOpt = None,
    auth_method: MethodOpt = None,
    scope: ScopeOpt = None,
    trusted_audience: AudienceOpt = None,
    preset: Annotated[
        str, typer.Option(help=f"Claim names preset: {', '.join(PRESETS)}.")
    ] = DEFAULT_PRESET,
    claim: ClaimOpt = None,
    jit: Annotated[
        bool, typer.Option("--jit", help="Create unknown users at first login.")
    ] = False,
    name: Annotated[str | None, typer.Option(help="Connection name.")] = None,
    match_by: MatchOpt = "email",
    userinfo: Annotated[
        bool, typer.Option("--userinfo", help="Also read the userinfo endpoint at sign-in.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Connect a tenant's OpenID Provider (its discovery document is checked first); prints the
    redirect and back-channel logout URIs to register there."""
    if (client_secret is None) == (private_key_file is None):
        raise fail("give exactly one of --client-secret or --private-key-file", "usage", 2)
    draft = OidcConnectionDraft(
        issuer=issuer,
        client_id=client_id,
        client_secret=client_secret,
        private_key_pem=_key(private_key_file),
        auth_method=auth_method,
        scopes=scope or (),
        trusted_audiences=trusted_audience or (),
        preset=preset,
        claim_overrides=_claims(claim),
        jit=jit,
        name=name,
        match_by=match_by or "email",
        use_userinfo=userinfo,
    )
    out = run(lambda rt: ops.create_connection(rt, CLI, tenant, draft))

    def human() -> None:
        typer.echo(f"connection {out['connection_id']}")
        for key in ("redirect_uri", "backchannel_logout_uri", "login_url"):
            typer.echo(f"{key}: {out[key]}")

    emit(out, as_json, human)


@oidc_app.command("list")
def list_connections(tenant: TenantArg, as_json: JsonOpt = False) -> None:
    """List a tenant's OIDC connections."""
    rows = run(lambda rt: ops.list_connections(rt, tenant))
    emit(rows, as_json, lambda: table(rows, ["connection_id", "issuer", "client_id", "disabled"]))


@oidc_app.command("show")
def show_connection(connection_id: ConnectionArg, as_json: JsonOpt = False) -> None:
    """Show a connection: provider, client, scopes, claim map, URLs, disabled or not."""
    out = run(lambda rt: ops.show_connection(rt, connection_id))
    emit(out, as_json, lambda: fields(out))


@oidc_app.command("update")
def update_connection(
    connection_id: ConnectionArg,
    issuer: Annotated[str | None, typer.Option(help="New issuer URL (checked).")] = None,
    client_id: Annotated[str | None, typer.Option(help="New client id.")] = None,
    client_secret: SecretOpt = None,
    private_key_file: KeyFileOpt = None,
    auth_method: MethodOpt = None,
    scope: ScopeOpt = None,
    trusted_audience: AudienceOpt = None,
    preset: Annotated[
        str | None, typer.Option(help=f"Rebuild the claim map from: {', '.join(PRESETS)}.")
    ] = None,
    claim: ClaimOpt = None,
    jit: Annotated[
        bool | None, typer.Option("--jit/--no-jit", help="Create unknown users at first login.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="New connection name.")] = None,
    match_by: MatchOpt = None,
    userinfo: Annotated[
        bool | None, typer.Option("--userinfo/--no-userinfo", help="Read the userinfo endpoint.")
    ] = None,
    disable: Annotated[
        bool | None,
        typer.Option("--disable/--enable", help="Stop sign-in through it (kept), or allow it."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a connection: provider, credential, scopes, claim map, options; disable/enable."""
    changes = OidcConnectionChanges(
        name=name,
        issuer=issuer,
        client_id=client_id,
        client_secret=client_secret,
        private_key_pem=_key(private_key_file),
        auth_method=auth_method,
        scopes=scope,
        trusted_audiences=trusted_audience,
        preset=preset,
        claim_overrides=_claims(claim),
        jit=jit,
        match_by=match_by,
        use_userinfo=userinfo,
        disabled=disable,
    )
    out = run(lambda rt: ops.update_connection(rt, CLI, connection_id, changes))
    emit(out, as_json, lambda: typer.echo(f"updated {out['connection_id']}"))


@oidc_app.command("delete")
def delete_connection(connection_id: ConnectionArg, as_json: JsonOpt = False) -> None:
    """Delete a connection (its users stay in the directory; bound domains are unbound)."""
    out = run(lambda rt: ops.delete_connection(rt, CLI, connection_id))
    emit(out, as_json, lambda: typer.echo(f"deleted {out['connection_id']}"))


__all__ = ["oidc_app"]
