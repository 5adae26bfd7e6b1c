"""The operator console's records: the audit trail with filters (tenant, action, actor,
since), the event feed (``admin/events.py``) and the delivery queue of webhooks and other
deliveries (``admin/webhooks.py``: state, dead letters, one delivery's attempts, replay of
dead ones, audited as the operator)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from propylon import errors
from propylon.admin import events, webhooks
from propylon.admin import tenants as tenant_ops
from propylon.admin.operators import actor_of
from propylon.api.console_pages import console_form, console_message, console_page
from propylon.api.console_routes import Operator
from propylon.api.oauth_adapter import runtime_of
from propylon.ids import plausible

router = APIRouter(tags=["console"], include_in_schema=False)
LIMIT = 100
MAX_ID = 2**62
"""Ids and cursors beyond this name nothing (and would overflow a BIGINT parameter)."""
STATES = ("pending", "delivered", "dead", "dropped")


SINCE_YEARS = (1970, 2100)
"""A ``since`` outside these years names no audit entry (and at the edges of ``datetime``'s
range an offset would overflow it): refused as a wrong date."""


def _since(value: str) -> datetime | None:
    """A date (``2026-12-01``) or date and time, in UTC, between 1970 and 2100; ``None``
    otherwise."""
    if len(value) > 40:
        return None
    try:
        when = datetime.fromisoformat(value.strip())
        when = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    low, high = SINCE_YEARS
    return when if low <= when.year <= high else None


@router.get("/admin/audit")
async def audit_page(
    request: Request,
    signed: Operator,
    tenant: str = "",
    action: str = "",
    actor: str = "",
    since: str = "",
) -> Response:
    rt = runtime_of(request)
    filters = {
        "tenant": tenant[:64],
        "action": action[:64],
        "actor": actor[:64],
        "since": since[:40],
    }
    problems: list[tuple[str, str]] = []
    when = _since(since) if since else None
    if since and when is None:
        problems.append(
            ("since", "Enter a date between 1970 and 2100 as 2026-12-01, or a date and time.")
        )
    for name in ("tenant", "action", "actor"):
        if filters[name] and not plausible(filters[name]):
            problems.append((name, f"The {name} is not one that could be stored."))
    entries: list[dict[str, Any]] = []
    if not problems:
        try:
            entries = await tenant_ops.audit_trail(
                rt,
                filters["tenant"] or None,
                limit=LIMIT,
                action=filters["action"] or None,
                actor_id=filters["actor"] or None,
                since=when,
            )
        except errors.NotFound:
            problems.append(("tenant", "There is no tenant by that id or slug."))
    return console_page(
        request,
        signed,
        "console/audit.html",
        title="Audit trail",
        current="audit",
        status=400 if problems else 200,
        entries=entries,
        filters=filters,
        errors=problems,
        limit=LIMIT,
    )


@router.get("/admin/events")
async def events_page(
    request: Request, signed: Operator, tenant: str = "", type: str = "", after: int = 0
) -> Response:
    rt = runtime_of(request)
    filters = {"tenant": tenant[:64], "type": type[:100]}
    problems: list[tuple[str, str]] = []
    page: dict[str, Any] = {"data": [], "next_after": after}
    try:
        page = await events.list_events(
            rt,
            after=min(max(0, after), MAX_ID),
            limit=LIMIT,
            types=[filters["type"]] if filters["type"] else [],
            tenant=filters["tenant"] or None,
        )
    except errors.InvalidInput as exc:
        problems.append(("type" if "type" in exc.detail else "tenant", exc.detail))
    for e in page["data"]:
        e["data_json"] = json.dumps(e["data"], indent=1, sort_keys=True)[:2000]
    return console_page(
        request,
        signed,
        "console/events.html",
        title="Events",
        current="events",
        status=400 if problems else 200,
        events=page["data"],
        next_after=page["next_after"],
        after=after,
        filters=filters,
        errors=problems,
        limit=LIMIT,
    )


@router.get("/admin/deliveries")
async def deliveries_page(
    request: Request, signed: Operator, state: str = "", kind: str = "", after: int = 0
) -> Response:
    rt = runtime_of(request)
    filters = {"state": state if state in STATES else "", "kind": kind[:32]}
    page = await webhooks.list_deliveries(
        rt,
        state=filters["state"] or None,
        kind=filters["kind"] or None,
        after=min(max(0, after), MAX_ID),
        limit=LIMIT,
    )
    notice = None
    if (n := request.query_params.get("replayed")) is not None and n.isdigit():
        notice = {"kind": "ok", "text": f"{n} dead deliveries will be tried again now."}
    return console_page(
        request,
        signed,
        "console/deliveries.html",
        title="Webhook deliveries",
        current="deliveries",
        deliveries=page["data"],
        next_after=page["next_after"],
        after=after,
        filters=filters,
        states=STATES,
        limit=LIMIT,
        notice=notice,
    )


@router.get("/admin/deliveries/{delivery_id}")
async def delivery_page(request: Request, delivery_id: int, signed: Operator) -> Response:
    try:
        if not 0 < delivery_id < MAX_ID:
            raise errors.NotFound("no delivery")
        found = await webhooks.show_delivery(runtime_of(request), delivery_id)
    except errors.NotFound:
        return console_message(
            request,
            signed,
            404,
            "Not found",
            "There is no delivery by that id.",
            current="deliveries",
            back=("/admin/deliveries", "Back to deliveries"),
        )
    found["payload_json"] = json.dumps(found["payload"], indent=1, sort_keys=True)[:20_000]
    return console_page(
        request,
        signed,
        "console/delivery.html",
        title=f"Delivery {delivery_id}",
        current="deliveries",
        delivery=found,
    )


@router.post("/admin/deliveries/replay")
async def replay(request: Request, signed: Operator) -> Response:
    form = await console_form(request)
    if isinstance(form, Response):
        return form
    raw = form.get("ids", "").replace(",", " ").split()
    ids = [int(x) for x in raw[:100] if x.isascii() and x.isdigit() and len(x) <= 18]
    destination = form.get("destination", "")[:2048] or None
    if not ids and destination is None:
        return console_message(
            request,
            signed,
            400,
            "Nothing to replay",
            "Choose a dead delivery, or a destination whose dead deliveries to replay.",
            current="deliveries",
            back=("/admin/deliveries?state=dead", "Back to dead letters"),
        )
    out = await webhooks.replay(
        runtime_of(request), actor_of(signed), ids=ids, destination=destination
    )
    count = len(out["replayed"])
    return RedirectResponse(f"/admin/deliveries?state=dead&replayed={count}", status_code=303)
