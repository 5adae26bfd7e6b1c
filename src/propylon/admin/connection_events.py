"""The ``connection.*`` event of a SAML or OIDC connection change, and the sessions a
disabling or deletion ends (``revocation/connections.py``), written as the operation's last
statements."""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from propylon.revocation.connections import connection_changed
from propylon.revocation.service import Outboxes
from propylon.runtime import Runtime


async def write_connection_event(
    rt: Runtime,
    s: AsyncSession,
    out: Outboxes,
    protocol: Literal["saml", "oidc"],
    kind: str,
    view: dict[str, Any],
    end_sessions: str | None = None,
) -> int:
    """The event (and the sessions ended, their number returned), flushed last."""
    ended = await connection_changed(
        s,
        rt.sessions,
        out,
        rt.clock(),
        kind=kind,
        protocol=protocol,
        view=view,
        end_sessions=end_sessions,
    )
    await out.flush(s, rt.clock())
    return ended
