"""One SCIM request as one unit of work.

:func:`run` authenticates the bearer token, opens one write transaction, runs the operation,
flushes its domain events to the outbox, records the audit entry and commits; on any failure
it rolls back, records the failure in its own transaction and raises the SCIM error. Every
operation in :mod:`propylon.scim.users` and :mod:`propylon.scim.groups` goes through it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, NoReturn, Protocol, TypeVar

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from propylon import errors
from propylon.audit import Actor, AuditRecord, internal_error, record_failure, unexpected_status
from propylon.audit.auth_failures import Failure
from propylon.audit.log import TABLE as AUDIT_TABLE
from propylon.audit.log import values as audit_values
from propylon.directory.errors import InvalidQuery, SeatLimitReached
from propylon.directory.events import Outbox, Row
from propylon.directory.scope import DirectoryScope
from propylon.scim import errors as scim
from propylon.scim.filter import FilterLimits
from propylon.scim.listing import ListQuery, list_response
from propylon.scim.ports import ScimRuntime
from propylon.scim.resources import etag
from propylon.tenants.directories import authenticate, scim_base_url

T = TypeVar("T")
log = structlog.get_logger("propylon.scim")


class SeatLimit(scim.ScimError):
    """Provisioning or activating past the tenant's licence seats."""

    status = 403


@dataclass(frozen=True)
class ScimRequest:
    """What the HTTP edge hands the SCIM layer: no framework objects."""

    rt: ScimRuntime
    directory_id: str
    token: str | None
    request_id: str | None = None
    address: str = "unknown"
    """The client's address (``api/client_address.py``), for the limit on failed
    authentication."""

    @property
    def base_url(self) -> str:
        return scim_base_url(self.rt.settings.public_url, self.directory_id)


@dataclass
class Unit:
    """The open unit of work an operation runs in."""

    session: AsyncSession
    scope: DirectoryScope
    outbox: Outbox
    now: datetime
    base_url: str
    dialect: str
    audit: AuditRecord


@dataclass
class ScimResponse:
    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def to_scim_error(exc: Exception) -> scim.ScimError | None:
    """Map domain errors to RFC 7644 §3.12 errors; None for anything unanticipated."""
    if isinstance(exc, scim.ScimError):
        return exc
    if isinstance(exc, errors.NotFound):
        return scim.NotFound(exc.detail)
    if isinstance(exc, errors.AlreadyExists):
        return scim.Uniqueness(exc.detail)
    if isinstance(exc, InvalidQuery):
        return scim.InvalidFilter(exc.detail)
    if isinstance(exc, SeatLimitReached):
        return SeatLimit(exc.detail)
    if isinstance(exc, errors.InvalidInput):
        return scim.InvalidValue(exc.detail)
    if isinstance(exc, errors.Unauthenticated):
        return scim.Unauthorized("authentication failed: " + exc.detail)
    return None


def token_key(token: str | None) -> str:
    """Rate-limit key of a presented token: a hash, so no secret reaches the accelerator."""
    return "scim:" + hashlib.sha256((token or "").encode()).hexdigest()[:32]


async def check_rate(req: ScimRequest, key: str) -> None:
    """The per-token limit (``key``: :func:`token_key`)."""
    limit = req.rt.settings.scim_rate_limit_per_minute
    decision = await req.rt.cache.rate_hit(key, limit, 60)
    if not decision.allowed:
        raise scim.TooManyRequests(
            f"rate limit of {limit} requests per minute for this token exceeded",
            headers={"Retry-After": str(decision.retry_after)},
        )


async def run(
    req: ScimRequest, action: str, op: Callable[[Unit], Awaitable[T]], *, read_only: bool = False
) -> T:
    """Run ``op`` as one unit of work. A ``read_only`` operation runs without a write
    transaction and hands its audit entry to the batched writer."""
    rt = req.rt
    now = rt.clock()
    audit = AuditRecord(action=action, request_id=req.request_id)
    actor = Actor("scim_token", directory_id=req.directory_id)
    written = []
    credential = token_key(req.token)
    wait = rt.auth_failures.refused(req.address, credential if req.token else None, "scim")
    if wait is not None:  # tallied for the audit trail, no database work
        raise scim.TooManyRequests(
            "too many failed authentications from this address",
            headers={"Retry-After": str(wait)},
        )
    authenticated = False
    try:
        await check_rate(req, credential)
        if not req.token:
            raise scim.Unauthorized("missing bearer token")
        opened = rt.db.read() if read_only else rt.db.write()
        async with opened as session:
            scope = await authenticate(session, req.token, now=now, cache=rt.scope_cache)
            if scope.directory_id != req.directory_id:
                raise scim.Unauthorized("token is not valid for this directory")
            authenticated = True
            rt.auth_failures.succeeded(credential)
            actor = Actor("scim_token", scope.token_id, scope.tenant_id, scope.directory_id)
            unit = Unit(
                session, scope, Outbox(scope.tenant_id), now, req.base_url, rt.db.dialect, audit
            )
            result = await op(unit)
            if read_only and rt.audit_buffer is not None:
                rt.audit_buffer.add(audit_values(actor, audit, "success", now))
            else:
                # The audit entry rides with the outbox, which goes last: it takes the tenant
                # row lock (for the gapless event sequence), which every write of the tenant
                # queues on until COMMIT. A create is then one statement in all.
                unit.outbox.insert(Row(AUDIT_TABLE, audit_values(actor, audit, "success", now)))
                written = await unit.outbox.flush(session, now)
    except Exception as exc:
        err = to_scim_error(exc)
        if err is None:
            # Unanticipated (a bug, a database rule, a dependency down): audited by its type
            # alone, since its message may carry user data or bound parameters; then answered
            # by api/errors.py (500, or 503 for an unavailable dependency).
            audit.status, audit.reason = unexpected_status(exc), internal_error(exc)
            await _record_failure(rt, actor, audit, now)
            raise
        if isinstance(err, scim.Unauthorized) and not authenticated:
            # counted per address and audited in aggregate: no write of its own
            failure = Failure(
                "scim",
                req.address,
                err.detail,
                req.request_id,
                credential,
                req.directory_id,
                guessed=bool(req.token),
            )
            await rt.auth_failures.failed(failure)
            raise err from exc
        audit.status, audit.reason = err.status, err.detail
        await _record_failure(rt, actor, audit, now)
        raise err from exc
    if written:
        await rt.events.published(scope.tenant_id, written)
    return result


async def _record_failure(rt: ScimRuntime, actor: Actor, audit: AuditRecord, now: datetime) -> None:
    """Audit a failure in its own transaction; should that fail too (the database is what
    failed), hand the entry to the batched writer, which retries, rather than lose it."""
    try:
        await record_failure(rt.db, actor, audit, now)
    except Exception as exc:
        log.error("audit_failure_deferred", error=type(exc).__name__, request_id=audit.request_id)
        if rt.audit_buffer is not None:
            rt.audit_buffer.add(audit_values(actor, audit, "failure", now))


async def reject(req: ScimRequest, action: str, error: scim.ScimError) -> NoReturn:
    """Refuse a request whose wire input could not be read (unreadable, oversized or
    malformed body; RFC 7644 §3.12) through :func:`run` like any operation: the token is
    checked first (a bad token gets 401, not a hint about the body), the rate limit counts it,
    and the refusal lands in the token's tenant's audit trail."""

    async def op(unit: Unit) -> NoReturn:
        raise error

    await run(req, action, op, read_only=True)
    raise AssertionError("unreachable: the operation always raises")


class Versioned(Protocol):
    id: str
    version: int


def respond(
    status: int, row: Versioned, body: dict[str, Any] | None, location: str
) -> ScimResponse:
    """A resource response: ``ETag`` always (RFC 7644 §3.14), ``Location`` on 201 (§3.3)."""
    headers = {"ETag": etag(row.version)}
    if status == 201:
        headers["Location"] = location
    return ScimResponse(status, body, headers)


async def get_one(
    req: ScimRequest,
    kind: str,
    resource_id: str,
    if_none_match: str | None,
    load: Callable[[Unit, str], Awaitable[Versioned]],
    render: Callable[[Unit, Versioned], Awaitable[dict[str, Any]]],
) -> ScimResponse:
    """GET one resource (RFC 7644 §3.4.1), 304 when ``If-None-Match`` names its version."""

    async def op(unit: Unit) -> ScimResponse:
        unit.audit.target_type, unit.audit.target_id = kind.lower(), resource_id
        row = await load(unit, resource_id)
        if if_none_match and etag(row.version) in if_none_match:
            unit.audit.status = 304
            return ScimResponse(304, None, {"ETag": etag(row.version)})
        unit.audit.status = 200
        return respond(200, row, await render(unit, row), "")

    return await run(req, f"scim.{kind.lower()}.get", op, read_only=True)


Query = Callable[..., Awaitable[tuple[int, list[dict[str, Any]]]]]


async def list_resources(
    req: ScimRequest, params: dict[str, Any], kind: Literal["User", "Group"], query: Query
) -> ScimResponse:
    """List with filter, sort and paging (RFC 7644 §3.4.2, §3.4.3)."""
    settings = req.rt.settings

    async def op(unit: Unit) -> ScimResponse:
        q = ListQuery.parse(
            params,
            kind,
            default_count=settings.scim_default_page_size,
            max_count=settings.scim_max_results,
            limits=FilterLimits.of(settings),
        )
        total, resources = await query(unit, q, offset=q.offset, limit=q.count)
        unit.audit.status = 200
        unit.audit.diff = {"filter": params.get("filter"), "results": total}
        return ScimResponse(200, list_response(total, q.start_index, resources))

    return await run(req, f"scim.{kind.lower()}.list", op, read_only=True)
