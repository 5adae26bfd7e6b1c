"""Shared Signals Framework 1.0 stream management (SSF §8.1) for receivers authenticated by
a management API key: create, read, update (PATCH), replace (PUT) and delete a stream
(§8.1.1), read and set its status (§8.1.2), and request a verification event (§8.1.4). The
routes are ``api/ssf_routes.py``; every change is audited.

Delivery is push only (RFC 8935, ``urn:ietf:rfc:8935``): SETs are items of the delivery queue
(kind ``ssf``, ordered per stream and tenant). Propylon extensions of the configuration:
``aud`` (the SETs' audience, default the endpoint URL) and ``tenant_id`` (only that tenant's
events; default every tenant).
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from propylon import errors
from propylon.admin.apps import validate_redirect_uri
from propylon.admin.audited import audited
from propylon.audit import Actor, AuditRecord
from propylon.db.tables_signals import SsfStream
from propylon.delivery.model import KIND_SSF, Delivery, enqueue
from propylon.provider import secevent
from propylon.runtime import Runtime
from propylon.signals import streams

RECEIVER_SUPPLIED = ("delivery", "events_requested", "description", "aud", "tenant_id")
TRANSMITTER_SUPPLIED = ("stream_id", "iss", "events_supported", "events_delivered")
MAX_STATE = 512


def _issuer(rt: Runtime) -> str:
    return rt.settings.public_url.rstrip("/")


def _strings(value: Any, name: str, *, limit: int = 50) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or len(value) > limit:
        raise errors.InvalidInput(f"{name} must be a list of at most {limit} strings")
    if not all(isinstance(v, str) and 0 < len(v) <= 2000 for v in value):
        raise errors.InvalidInput(f"{name} must be a list of non-empty strings")
    return list(value)


def _delivery(value: Any) -> tuple[str, str | None]:
    if not isinstance(value, dict):
        raise errors.InvalidInput("delivery must be an object with method and endpoint_url")
    method = value.get("method")
    if method != secevent.PUSH:
        raise errors.InvalidInput(f"delivery method must be {secevent.PUSH!r} (RFC 8935 push)")
    url = value.get("endpoint_url")
    if not isinstance(url, str):
        raise errors.InvalidInput("delivery.endpoint_url is required for push delivery")
    auth = value.get("authorization_header")
    if auth is not None and (not isinstance(auth, str) or not 0 < len(auth) <= 4096):
        raise errors.InvalidInput("delivery.authorization_header must be a string")
    return validate_redirect_uri(url), auth


def _check_transmitter_supplied(rt: Runtime, body: dict[str, Any], row: SsfStream | None) -> None:
    """SSF §8.1.1.3/4: transmitter-supplied properties may be present but must match."""
    expected = streams.configuration(row, _issuer(rt)) if row is not None else {}
    for name in TRANSMITTER_SUPPLIED:
        if name in body and name != "stream_id" and body[name] != expected.get(name):
            raise errors.InvalidInput(f"{name} is set by the transmitter and does not match")
    unknown = set(body) - set(RECEIVER_SUPPLIED) - set(TRANSMITTER_SUPPLIED)
    if unknown:
        raise errors.InvalidInput(f"unknown stream properties: {sorted(unknown)}")


def _apply(row: SsfStream, body: dict[str, Any], box: Any, *, replace: bool) -> None:
    config = {} if replace else dict(row.config)
    if "delivery" in body or replace:
        url, auth = _delivery(body.get("delivery"))
        row.endpoint_url = url
        row.authorization_header = streams.seal_authorization(box, row.id, auth)
    if "events_requested" in body or replace:
        config["events_requested"] = _strings(body.get("events_requested"), "events_requested")
    if "aud" in body or replace:
        config["aud"] = _strings(body.get("aud"), "aud", limit=10)
    if "description" in body or replace:
        description = body.get("description")
        if description is not None and (
            not isinstance(description, str) or len(description) > 1000
        ):
            raise errors.InvalidInput("description must be a string of at most 1000 characters")
        config["description"] = description
    if "tenant_id" in body or replace:
        tenant = body.get("tenant_id")
        if tenant is not None and (not isinstance(tenant, str) or not 0 < len(tenant) <= 64):
            raise errors.InvalidInput("tenant_id must be a tenant id")
        row.tenant_id = tenant
    if not config.get("aud"):
        config["aud"] = [row.endpoint_url]
    row.config = config


async def _stream(s: AsyncSession, stream_id: Any, *, lock: bool = False) -> SsfStream:
    if not isinstance(stream_id, str) or not 0 < len(stream_id) <= 64:
        raise errors.InvalidInput("stream_id is required")
    row = await s.get(SsfStream, stream_id, with_for_update=lock)
    if row is None:
        raise errors.NotFound(f"no stream {stream_id!r}")
    return row


async def create_stream(rt: Runtime, actor: Actor, body: dict[str, Any]) -> dict[str, Any]:
    """SSF §8.1.1.1: a new stream, enabled."""

    async def op(s: AsyncSession, rec: AuditRecord) -> dict[str, Any]:
        _check_transmitter_supplied(rt, {k: v for k, v in body.items() if k != "stream_id"}, None)
        if "stream_id" in body:
            raise errors.InvalidInput("stream_id is set by the transmitter")
        now = rt.clock()
        row = SsfStream(
            id="ssf_" + secrets.token_hex(16),
            config={},
            endpoint_url="",
            status=streams.ENABLED,
            reason=None,
            created_by=actor.id,
            created_at=now,
            updated_at=now,
        )
        _apply(row, body, rt.secret_box, replace=True)
        s.add(row)
        rec.target_type, rec.target_id = "ssf_stream", row.id
        rec.diff = {"endpoint_url": {"before": None, "after": row.endpoint_url}}
        return streams.configuration(row, _issuer(rt))

    return await audited(rt, actor, "ssf_stream.create", op)


async def read_streams(rt: Runtime, stream_id: str | None) -> dict[str, Any] | list[dict[str, Any]]:
    """SSF §8.1.1.2: one stream, or every stream when no ``stream_id`` is given."""
    async with rt.db.read() as s:
        if stream_id is not None:
            return streams.configuration(await _stream(s, stream_id), _issuer(rt))
        rows = await s.scalars(select(SsfStream).order_by(SsfStream.created_at, SsfStream.id))
        return [streams.configuration(r, _issuer(rt)) for r in rows]


async def update_stream(
    rt: Runtime, actor: Actor, body: dict[str, Any], *, replace: bool
) -> dict[str, Any]:
    """SSF §8.1.1.3 (PATCH: the properties given change) and §8.1.1.4 (PUT: the whole
    receiver-supplied configuration; a missing property is removed)."""

    async def op(s: AsyncSession, rec: AuditRecord) -> dict[str, Any]:
        row = await _stream(s, body.get("stream_id"), lock=True)
        rec.target_type, rec.target_id = "ssf_stream", row.id
        _check_transmitter_supplied(rt, body, row)
        before = streams.configuration(row, _issuer(rt))
        _apply(row, body, rt.secret_box, replace=replace)
        streams.touched(row, rt.clock())
        after = streams.configuration(row, _issuer(rt))
        rec.diff = {
            k: {"before": before.get(k), "after": v} for k, v in after.items() if before.get(k) != v
        }
        return after

    return await audited(rt, actor, "ssf_stream.replace" if replace else "ssf_stream.update", op)


async def delete_stream(rt: Runtime, actor: Actor, stream_id: str | None) -> None:
    """SSF §8.1.1.5: the stream and what is still queued for it (dropped when rendered)."""

    async def op(s: AsyncSession, rec: AuditRecord) -> None:
        row = await _stream(s, stream_id, lock=True)
        rec.target_type, rec.target_id = "ssf_stream", row.id
        await s.delete(row)

    await audited(rt, actor, "ssf_stream.delete", op)


async def read_status(rt: Runtime, stream_id: str | None) -> dict[str, Any]:
    """SSF §8.1.2.1."""
    async with rt.db.read() as s:
        return streams.status(await _stream(s, stream_id))


def _event(stream_id: str, event_type: str, event: dict[str, Any]) -> Delivery:
    payload = {
        "jti": secrets.token_urlsafe(16),
        "event_type": event_type,
        "event": event,
        "sub_id": secevent.opaque(stream_id),
    }
    return Delivery(KIND_SSF, stream_id, None, payload)


async def update_status(rt: Runtime, actor: Actor, body: dict[str, Any]) -> dict[str, Any]:
    """SSF §8.1.2.2: ``enabled``, ``paused`` (SETs held until enabled) or ``disabled``
    (nothing transmitted; what is queued is dropped). A change is announced with a
    ``stream-updated`` SET (§8.1.5)."""

    async def op(s: AsyncSession, rec: AuditRecord) -> dict[str, Any]:
        row = await _stream(s, body.get("stream_id"), lock=True)
        rec.target_type, rec.target_id = "ssf_stream", row.id
        status, reason = body.get("status"), body.get("reason")
        if status not in streams.STATUSES:
            raise errors.InvalidInput(f"status must be one of {list(streams.STATUSES)}")
        if reason is not None and (not isinstance(reason, str) or len(reason) > 1000):
            raise errors.InvalidInput("reason must be a string of at most 1000 characters")
        now = rt.clock()
        if row.status != status:
            rec.diff = {"status": {"before": row.status, "after": status}}
            event: dict[str, Any] = {"status": status}
            if reason:
                event["reason"] = reason
            await enqueue(s, [_event(row.id, secevent.STREAM_UPDATED, event)], now)
        row.status, row.reason = status, reason
        streams.touched(row, now)
        return streams.status(row)

    return await audited(rt, actor, "ssf_stream.status", op)


async def verify(rt: Runtime, actor: Actor, body: dict[str, Any]) -> None:
    """SSF §8.1.4.2: queue a verification SET carrying the receiver's ``state``."""

    async def op(s: AsyncSession, rec: AuditRecord) -> None:
        row = await _stream(s, body.get("stream_id"))
        rec.target_type, rec.target_id = "ssf_stream", row.id
        state = body.get("state")
        if state is not None and (not isinstance(state, str) or len(state) > MAX_STATE):
            raise errors.InvalidInput(f"state must be a string of at most {MAX_STATE} characters")
        event = {"state": state} if state is not None else {}
        await enqueue(s, [_event(row.id, secevent.VERIFICATION, event)], rt.clock())

    await audited(rt, actor, "ssf_stream.verify", op)


def transmitter_metadata(issuer: str) -> dict[str, Any]:
    """SSF §7.1 transmitter configuration metadata (``/.well-known/ssf-configuration``)."""
    base = issuer.rstrip("/")
    return {
        "spec_version": "1_0",
        "issuer": base,
        "jwks_uri": f"{base}/oauth2/jwks",
        "delivery_methods_supported": [secevent.PUSH],
        "configuration_endpoint": f"{base}/ssf/stream",
        "status_endpoint": f"{base}/ssf/status",
        "verification_endpoint": f"{base}/ssf/verify",
        "authorization_schemes": [{"spec_urn": "urn:ietf:rfc:6750"}],
    }
