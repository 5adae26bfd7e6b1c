"""``propylon sessions list|revoke``: an administrator's view and revoke of sign-in sessions
(:mod:`propylon.admin.sessions`, the same as the management API's ``/api/v1/sessions``)."""

from __future__ import annotations

from typing import Annotated

import typer

from propylon.admin import sessions
from propylon.admin.audited import CLI
from propylon.cli.common import emit, fail, fields, run, table

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]

sessions_app = typer.Typer(no_args_is_help=True, help="Sign-in sessions: list and revoke.")


@sessions_app.command("list")
def list_sessions(
    user: Annotated[str, typer.Option("--user", help="The user's id.")],
    as_json: JsonOpt = False,
) -> None:
    """List a user's active sessions, oldest first."""
    rows = run(lambda rt: sessions.list_sessions(rt, user))
    emit(
        rows,
        as_json,
        lambda: table(rows, ["id", "auth_method", "connection_id", "created_at", "expires_at"]),
    )


@sessions_app.command("revoke")
def revoke(
    session: Annotated[str | None, typer.Option("--session", help="One session (its sid).")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Every session of a user.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """End one session (--session SID) or every session of a user (--user USER_ID), with
    their token families."""
    if (session is None) == (user is None):
        raise fail("give exactly one of --session and --user", "invalid_input")
    if session is not None:
        sid = session
        out = run(lambda rt: sessions.revoke_session(rt, CLI, sid))
    else:
        uid = user or ""
        out = run(lambda rt: sessions.revoke_user_sessions(rt, CLI, uid))
    emit(out, as_json, lambda: fields(out))
