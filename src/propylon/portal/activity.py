"""What the portal shows an IT admin of their SCIM directory at work: the latest requests
it received and their outcome, read from the audit trail (every SCIM operation is audited
with its directory, failed authentications too: :func:`propylon.audit.log.directory_requests`),
in words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from propylon.audit.log import AUTH_FAILURE, directory_requests

ACTIONS = {
    "create": "Create",
    "replace": "Replace",
    "patch": "Update",
    "delete": "Delete",
    "get": "Read",
    "list": "List",
}


@dataclass(frozen=True)
class ScimRequest:
    at: datetime
    what: str
    """In words: "Create user", "Update group"."""
    target: str | None
    ok: bool
    status: int | None
    reason: str | None


def describe(action: str) -> str:
    """``scim.user.create`` → ``Create user``."""
    if action == AUTH_FAILURE:
        return "Authentication failed"
    parts = action.split(".")
    if len(parts) == 3 and parts[0] == "scim":
        return f"{ACTIONS.get(parts[2], parts[2].capitalize())} {parts[1]}"
    return action


async def latest_requests(
    s: AsyncSession, tenant_id: str, directory_id: str, limit: int = 20
) -> list[ScimRequest]:
    """The directory's latest SCIM requests, newest first (within the tenant only), with
    its failed authentications."""
    return [
        ScimRequest(
            e.created_at,
            describe(e.action),
            e.target_id if e.outcome == "success" else None,
            e.outcome == "success",
            e.status,
            e.reason,
        )
        for e in await directory_requests(s, tenant_id, directory_id, limit)
    ]
