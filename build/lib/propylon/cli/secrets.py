"""``propylon secrets rotate|generate``: the key-encryption key of secrets at rest."""

from __future__ import annotations

from typing import Annotated

import typer

from propylon.admin.secrets import rotate_secret_key
from propylon.audit import Actor
from propylon.cli.common import emit, run
from propylon.crypto.secretbox import new_key_text

CLI = Actor("cli", "cli")
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]

secrets_app = typer.Typer(
    no_args_is_help=True, help="The secret key sealing private keys and secrets at rest."
)


@secrets_app.command("rotate")
def secrets_rotate(as_json: JsonOpt = False) -> None:
    """Re-seal every stored private key and secret under the first key of
    PROPYLON_SECRET_KEY; list the previous key(s) after it until this has run."""
    out = run(lambda rt: rotate_secret_key(rt, CLI))

    def human() -> None:
        typer.echo(f"sealed under key {out['key_id']}")
        for name in ("signing_keys", "saml_sp_keys"):
            typer.echo(f"{name}: {out[name]['resealed']} of {out[name]['total']} re-sealed")

    emit(out, as_json, human)


@secrets_app.command("generate")
def secrets_generate(as_json: JsonOpt = False) -> None:
    """Print a new random secret key (for PROPYLON_SECRET_KEY); nothing is stored."""
    key = new_key_text()
    emit({"secret_key": key}, as_json, lambda: typer.echo(key))
