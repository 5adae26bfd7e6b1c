"""``propylon app create|list|show|update|revoke`` and ``propylon keys rotate``."""

from __future__ import annotations

from typing import Annotated

import typer

from propylon.admin import apps
from propylon.admin.audited import CLI
from propylon.admin.keys import rotate_keys
from propylon.cli.common import emit, fields, run, table

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]

app = typer.Typer(no_args_is_help=True, help="Apps (OAuth clients) of the host platform.")


@app.command("create")
def app_create(
    name: Annotated[str, typer.Argument(help="The app's name, shown to people.")],
    redirect_uri: Annotated[list[str], typer.Option(help="Exact redirect URI (repeatable).")],
    post_logout_redirect_uri: Annotated[
        list[str] | None, typer.Option(help="Post-logout redirect URI (repeatable).")
    ] = None,
    public: Annotated[bool, typer.Option("--public", help="No secret; PKCE S256.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Register an app; the client secret is shown only once."""
    out = run(
        lambda rt: apps.create_app(
            rt,
            CLI,
            name=name,
            redirect_uris=redirect_uri,
            post_logout_redirect_uris=post_logout_redirect_uri or [],
            public=public,
        )
    )

    def human() -> None:
        typer.echo(f"client_id: {out['client_id']}")
        if out["client_secret"]:
            typer.echo(f"client_secret (shown once): {out['client_secret']}")

    emit(out, as_json, human)


@app.command("list")
def app_list(as_json: JsonOpt = False) -> None:
    """List registered apps."""
    rows = run(apps.list_apps)
    emit(rows, as_json, lambda: table(rows, ["client_id", "name", "public", "created_at"]))


@app.command("revoke")
def app_revoke(
    client_id: Annotated[str, typer.Argument(help="The app's client_id.")], as_json: JsonOpt = False
) -> None:
    """Revoke an app: it can no longer sign anyone in or redeem its tokens."""
    out = run(lambda rt: apps.revoke_app(rt, CLI, client_id))
    emit(out, as_json, lambda: typer.echo(f"revoked {out['client_id']}"))


@app.command("show")
def app_show(
    client_id: Annotated[str, typer.Argument(help="The app's client_id.")],
    as_json: JsonOpt = False,
) -> None:
    """Show an app and its redirect URIs."""
    out = run(lambda rt: apps.show_app(rt, client_id))
    emit(out, as_json, lambda: fields(out))


@app.command("update")
def app_update(
    client_id: Annotated[str, typer.Argument(help="The app's client_id.")],
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    redirect_uri: Annotated[
        list[str] | None, typer.Option(help="Redirect URI (repeatable; replaces the list).")
    ] = None,
    post_logout_redirect_uri: Annotated[
        list[str] | None,
        typer.Option(help="Post-logout redirect URI (repeatable; replaces the list)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Rename an app or replace its redirect URIs."""
    out = run(
        lambda rt: apps.update_app(
            rt,
            CLI,
            client_id,
            name=name,
            redirect_uris=redirect_uri,
            post_logout_redirect_uris=post_logout_redirect_uri,
        )
    )
    emit(out, as_json, lambda: typer.echo(f"updated {out['client_id']}"))


keys_app = typer.Typer(no_args_is_help=True, help="Token signing keys.")


@keys_app.command("rotate")
def keys_rotate(as_json: JsonOpt = False) -> None:
    """Sign with a new key; previous keys stay in JWKS until they retire."""
    out = run(rotate_keys)
    emit(out, as_json, lambda: typer.echo(f"signing with {out['kid']}"))
