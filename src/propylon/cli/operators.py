"""``propylon operator create|list|remove|reset-totp``: the accounts of the operator console
at ``/admin`` (:mod:`propylon.admin.operators`). ``create`` and ``reset-totp`` print the TOTP
secret and its ``otpauth://`` URI once: add it to an authenticator app then."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from propylon.admin import operators
from propylon.admin.audited import CLI
from propylon.cli.common import emit, fail, fields, run, table

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]

operator_app = typer.Typer(no_args_is_help=True, help="Operators of the console (/admin).")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise fail("no terminal to ask for the password: use --password-stdin", "invalid_input")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _enrolled(out: dict[str, str]) -> None:
    fields(out)
    typer.echo(
        "Add the secret to an authenticator app now (or open the otpauth:// URI): "
        "it is not shown again.",
        err=True,
    )


@operator_app.command("create")
def create(
    email: Annotated[str, typer.Argument(help="The operator's email address.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create an operator; prints the TOTP secret and its otpauth:// URI once."""
    password = _password(password_stdin)
    out = run(lambda rt: operators.create_operator(rt, CLI, email, password))
    emit(out, as_json, lambda: _enrolled(out))


@operator_app.command("list")
def list_operators(as_json: JsonOpt = False) -> None:
    """List the operators."""
    rows = run(operators.list_operators)
    emit(rows, as_json, lambda: table(rows, ["id", "email", "created_at"]))


@operator_app.command("remove")
def remove(
    operator: Annotated[str, typer.Argument(help="The operator's id or email.")],
    as_json: JsonOpt = False,
) -> None:
    """Remove an operator; their console sessions end at once."""
    out = run(lambda rt: operators.remove_operator(rt, CLI, operator))
    emit(out, as_json, lambda: fields(out))


@operator_app.command("reset-totp")
def reset_totp(
    operator: Annotated[str, typer.Argument(help="The operator's id or email.")],
    as_json: JsonOpt = False,
) -> None:
    """A new TOTP secret (printed once); the old one stops working and sessions end."""
    out = run(lambda rt: operators.reset_totp(rt, CLI, operator))
    emit(out, as_json, lambda: _enrolled(out))
