"""Helpers for the entitlements tests: catalogue names, rule sets, reading events."""

from __future__ import annotations

import contextlib
import secrets
from typing import Any

from sqlalchemy import select

from propylon.admin import entitlements as ops
from propylon.admin.audited import CLI
from propylon.db.tables import Event
from propylon.errors import AlreadyExists
from tests.conftest import Server

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


async def declare(server: Server, kind: str, name: str) -> None:
    with contextlib.suppress(AlreadyExists):
        await ops.catalog_add(server.rt, CLI, kind, name)


def suffix() -> str:
    return secrets.token_hex(3)


async def clinical_rules(server: Server, s: str) -> dict[str, Any]:
    """Roles ``clinician-{s}`` (group Nurses-{s}), tier ``pro-{s}`` (department Clinical),
    default tier ``basic-{s}`` and role ``viewer-{s}``, program ``p-{s}`` with the nurses."""
    for kind, name in [
        ("role", f"viewer-{s}"),
        ("role", f"clinician-{s}"),
        ("tier", f"basic-{s}"),
        ("tier", f"pro-{s}"),
        ("program", f"p-{s}"),
    ]:
        await declare(server, kind, name)
    return {
        "defaults": {"roles": [f"viewer-{s}"], "tier": f"basic-{s}"},
        "rules": [
            {
                "name": "nurses",
                "priority": 1,
                "when": {"any_groups": [f"Nurses-{s}"]},
                "grant": {"roles": [f"clinician-{s}"], "programs": [f"p-{s}"]},
            },
            {
                "name": "clinical",
                "priority": 10,
                "when": {"attributes": [{"attr": "department", "op": "eq", "value": "Clinical"}]},
                "grant": {"tier": f"pro-{s}"},
            },
        ],
    }


async def events_of(server: Server, tenant_id: str, type_: str) -> list[Event]:
    async with server.rt.db.read() as s:
        q = select(Event).where(Event.tenant_id == tenant_id, Event.type == type_)
        return list(await s.scalars(q.order_by(Event.seq)))
