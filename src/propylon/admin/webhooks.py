"""Webhook endpoints and the delivery queue's log, dead letters and replay: ``propylon
webhooks ...`` / ``propylon deliveries ...`` and ``/api/v1/webhooks``,
``/api/v1/deliveries`` call these same functions. Every change is audited; a secret is
shown once (at creation and at rotation) and stored sealed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from propylon import errors
from propylon.admin.audited import audited
from propylon.audit import Actor, AuditRecord
from propylon.db.tables import Tenant
from propylon.db.tables_delivery import DeliveryAttempt, DeliveryItem
from propylon.delivery import queue
from propylon.ids import plausible
from propylon.rfc3339 import rfc3339
from propylon.runtime import Runtime
from propylon.webhooks import endpoints

MAX_LIST = 1000


async def _check_tenant(s: AsyncSession, tenant_id: str | None) -> None:
    if tenant_id is None:
        return
    row = await s.get(Tenant, tenant_id) if plausible(tenant_id) else None
    if row is None or row.deleted_at is not None:
        raise errors.NotFound(f"no tenant {tenant_id!r}")


async def create_endpoint(
    rt: Runtime,
    actor: Actor,
    *,
    url: str,
    tenant_id: str | None = None,
    event_types: list[str] | None = None,
    description: str = "",
) -> dict[str, Any]:
    """Register an endpoint; the ``whsec_`` secret is in the answer, and only there."""
    allow_http = rt.outbound.http_allowed

    async def op(s: AsyncSession, rec: AuditRecord) -> dict[str, Any]:
        rec.target_type = "webhook_endpoint"
        checked = endpoints.validate_url(url, allow_http=allow_http)
        types = endpoints.validate_types(event_types or [])
        endpoints.validate_description(description)
        await _check_tenant(s, tenant_id)
        now = rt.clock()
        row, secret = endpoints.new_endpoint(
            rt.secret_box,
            now,
            url=checked,
            tenant_id=tenant_id,
            event_types=types,
            description=description,
        )
        s.add(row)
        rec.target_id = row.id
        rec.diff = {"url": {"before": None, "after": checked}}
        return {**endpoints.EndpointView(row).as_dict(now), "secret": secret}

    return await audited(rt, actor, "webhook.create", op)


async def list_endpoints(rt: Runtime) -> list[dict[str, Any]]:
    now = rt.clock()
    async with rt.db.read() as s:
        return [endpoints.EndpointView(r).as_dict(now) for r in await endpoints.all_endpoints(s)]


async def show_endpoint(rt: Runtime, endpoint_id: str) -> dict[str, Any]:
    now = rt.clock()
    async with rt.db.read() as s:
        row = await endpoints.get(s, endpoint_id)
        counts = dict(
            (
                await s.execute(
                    select(DeliveryItem.state, func.count())
                    .where(DeliveryItem.destination == endpoint_id)
                    .group_by(DeliveryItem.state)
                )
            ).all()
        )
        return {**endpoints.EndpointView(row).as_dict(now), "deliveries": counts}


async def update_endpoint(
    rt: Runtime,
    actor: Actor,
    endpoint_id: str,
    *,
    url: str | None = None,
    event_types: list[str] | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """Change the URL, the types (replaced whole) or the description; queued deliveries go
    to the new URL from their next attempt."""
    allow_http = rt.outbound.http_allowed

    async def op(s: AsyncSession, rec: AuditRecord) -> dict[str, Any]:
        rec.target_type, rec.target_id = "webhook_endpoint", endpoint_id
        row = await endpoints.get(s, endpoint_id, lock=True)
        now = rt.clock()
        before = endpoints.EndpointView(row).as_dict(now)
        if url is not None:
            row.url = endpoints.validate_url(url, allow_http=allow_http)
        if event_types is not None:
            row.event_types = {"types": endpoints.validate_types(event_types)}
        if description is not None:
            row.description = endpoints.validate_description(description)
        row.updated_at = now
        after = endpoints.EndpointView(row).as_dict(now)
        rec.diff = {
            k: {"before": before[k], "after": v}
            for k, v in after.items()
            if before[k] != v and k != "updated_at"
        }
        return after

    return await audited(rt, actor, "webhook.update", op)


async def delete_endpoint(rt: Runtime, actor: Actor, endpoint_id: str) -> dict[str, Any]:
    """Delete an endpoint: its queued deliveries are dropped at their next attempt."""

    async def op(s: AsyncSession, rec: AuditRecord) -> dict[str, Any]:
        rec.target_type, rec.target_id = "webhook_endpoint", endpoint_id
        row = await endpoints.get(s, endpoint_id, lock=True)
        rec.diff = {"url": {"before": row.url, "after": None}}
        await s.delete(row)
        return {"id": endpoint_id, "deleted": True}

    return await audited(rt, actor, "webhook.delete", op)


async def rotate_secret(
    rt: Runtime, actor: Actor, endpoint_id: str, *, grace_seconds: int | None = None
) -> dict[str, Any]:
    """A new secret (in the answer, once); the previous one keeps signing too for the grace
    period (``PROPYLON_WEBHOOK_SECRET_GRACE_SECONDS`` unless given), then stops."""
    grace = rt.settings.webhook_secret_grace_seconds if grace_seconds is None else grace_seconds
    if grace < 0 or grace > 30 * 86400:
        raise errors.InvalidInput("grace period: 0 to 30 days")

    async def op(s: AsyncSession, rec: AuditRecord) -> dict[str, Any]:
        rec.target_type, rec.target_id = "webhook_endpoint", endpoint_id
        row = await endpoints.get(s, endpoint_id, lock=True)
        now = rt.clock()
        secret = endpoints.rotate(rt.secret_box, row, now, grace)
        rec.diff = {"secret": {"before": "(previous)", "after": "(rotated)"}}
        return {**endpoints.EndpointView(row).as_dict(now), "secret": secret}

    return await audited(rt, actor, "webhook.rotate_secret", op)


def _delivery(row: DeliveryItem) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "destination": row.destination,
        "tenant_id": row.tenant_id,
        "event_id": row.event_id,
        "state": row.state,
        "attempts": row.attempts,
        "next_attempt_at": rfc3339(row.next_attempt_at) if row.state == "pending" else None,
        "last_status": row.last_status,
        "last_error": row.last_error,
        "created_at": rfc3339(row.created_at),
        "finished_at": rfc3339(row.finished_at) if row.finished_at else None,
    }


async def list_deliveries(
    rt: Runtime,
    *,
    state: str | None = None,
    kind: str | None = None,
    destination: str | None = None,
    tenant_id: str | None = None,
    after: int = 0,
    limit: int = 100,
) -> dict[str, Any]:
    """The queue and its outcomes, oldest first from ``after`` (an id); ``state=dead`` is
    the dead-letter view."""
    if state is not None and state not in ("pending", "delivered", "dead", "dropped"):
        raise errors.InvalidInput("state: pending, delivered, dead or dropped")
    limit = max(1, min(limit, MAX_LIST))
    if any(v is not None and not plausible(v) for v in (kind, destination, tenant_id)):
        return {"data": [], "next_after": after}  # no stored value is like that
    query = select(DeliveryItem).where(DeliveryItem.id > after)
    for column, value in (
        (DeliveryItem.state, state),
        (DeliveryItem.kind, kind),
        (DeliveryItem.destination, destination),
        (DeliveryItem.tenant_id, tenant_id),
    ):
        if value is not None:
            query = query.where(column == value)
    async with rt.db.read() as s:
        rows = (await s.scalars(query.order_by(DeliveryItem.id).limit(limit))).all()
    data = [_delivery(r) for r in rows]
    return {"data": data, "next_after": data[-1]["id"] if data else after}


async def show_delivery(rt: Runtime, delivery_id: int) -> dict[str, Any]:
    """One delivery with its payload and every attempt (the delivery log)."""
    async with rt.db.read() as s:
        row = await s.get(DeliveryItem, delivery_id)
        if row is None:
            raise errors.NotFound(f"no delivery {delivery_id}")
        attempts = (
            await s.scalars(
                select(DeliveryAttempt)
                .where(DeliveryAttempt.delivery_id == delivery_id)
                .order_by(DeliveryAttempt.id)
            )
        ).all()
    return {
        **_delivery(row),
        "payload": row.payload,
        "log": [
            {
                "attempt": a.attempt,
                "at": rfc3339(a.at),
                "outcome": a.outcome,
                "status": a.status,
                "error": a.error,
                "duration_ms": a.duration_ms,
            }
            for a in attempts
        ],
    }


async def replay(
    rt: Runtime, actor: Actor, *, ids: list[int] | None = None, destination: str | None = None
) -> dict[str, Any]:
    """Dead deliveries (these ids, or all of a destination's) tried again from now, with a
    fresh retry period."""
    if not ids and destination is None:
        raise errors.InvalidInput("name deliveries (ids) or a destination to replay")

    async def op(s: AsyncSession, rec: AuditRecord) -> dict[str, Any]:
        rec.target_type = "delivery"
        rec.target_id = (destination or ",".join(map(str, ids or [])))[:64]
        replayed = await queue.replay(s, rt.clock(), ids=ids or (), destination=destination)
        rec.diff = {"replayed": {"before": None, "after": len(replayed)}}
        return {"replayed": replayed}

    return await audited(rt, actor, "delivery.replay", op)
