"""What a test connection's answer became: the verdict both protocols build (the failing
stage, its reason and facts, or what passed), the attributes and their mapping, the user
outcome, and the one write that records it on the test's row with its audit entry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from propylon.audit import Actor, AuditRecord
from propylon.audit.log import entry
from propylon.db.tables_setup import ConnectionTestRow
from propylon.runtime import Runtime
from propylon.sessions.pending_cookie import PendingLogin
from propylon.setup import tests_store
from propylon.setup.remedies import remedy
from propylon.setup.stages import build_stages, describe
from propylon.setup.tests_store import complete, get_row
from propylon.signin.saml_sso import LoginRefused
from propylon.signin.user_match import Identity, JitRefused, jit_refusal
from propylon.tenants.attribute_maps import FIELDS, values_of

MAX_ATTRIBUTES = 50
MAX_VALUES = 20
MAX_CHARS = 256


class StageFailure(Exception):
    """The answer failed at a stage: ``reason`` (stable), its ``facts``."""

    def __init__(self, reason: str, stage: str, facts: Mapping[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.stage = stage
        self.facts = dict(facts or {})


@dataclass
class Verdict:
    failed: StageFailure | None = None
    signature_checked: bool = True
    signature_verified: bool = False
    """The signature was verified before an earlier stage's refusal (see ``build_stages``)."""
    passed: dict[str, str] = field(default_factory=dict)
    """What a passed stage found, in words."""
    attributes: dict[str, list[str]] = field(default_factory=dict)
    mapped: dict[str, Any] = field(default_factory=dict)
    user: dict[str, Any] = field(default_factory=dict)


def bounded_attributes(attributes: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, values in list(attributes.items())[:MAX_ATTRIBUTES]:
        out[name[:MAX_CHARS]] = [str(v)[:MAX_CHARS] for v in list(values)[:MAX_VALUES]]
    return out


def mapped_fields(
    attributes: Mapping[str, Sequence[str]], attribute_map: Mapping[str, Any]
) -> dict[str, Any]:
    """What the connection's mapping makes of the attributes (the mapping's preview)."""
    out: dict[str, Any] = {}
    for name in FIELDS:
        values = [v[:MAX_CHARS] for v in values_of(attributes, attribute_map, name)[:MAX_VALUES]]
        out[name] = values if name == "groups" else (values[0] if values else None)
    return out


def judge_user(
    found: Identity | None,
    email: str | None,
    *,
    jit: bool,
    email_needed: bool,
    jit_refused: JitRefused | None = None,
) -> dict[str, Any]:
    """The user outcome: ``existing``, ``would_create`` (just in time) or a refusal
    (:class:`StageFailure` at ``attributes`` or ``user``). Nothing is provisioned.
    ``jit_refused``: why just-in-time provisioning would refuse this email
    (:func:`~propylon.signin.user_match.jit_refusal`)."""
    if found is None:
        if email is None and (email_needed or jit):
            raise StageFailure("email_missing", "attributes")
        if not jit:
            raise StageFailure("unknown_user", "user", {"email": email or ""})
        if jit_refused is not None:
            raise StageFailure(jit_refused.reason, "user", {"email": email or ""})
        return {"outcome": "would_create", "user_id": None, "email": email}
    user = found[0]
    facts = {"user_id": user.id, "email": user.email or email or ""}
    if user.deleted_at is not None:
        raise StageFailure("user_deprovisioned", "user", facts)
    if not user.active:
        raise StageFailure("user_deactivated", "user", facts)
    return {"outcome": "existing", "user_id": user.id, "email": user.email or email}


async def judge(
    s: AsyncSession,
    tenant_id: str,
    found: Identity | None,
    email: str | None,
    *,
    jit: bool,
    email_needed: bool,
) -> dict[str, Any]:
    """:func:`judge_user` with the refusal just-in-time provisioning would give, read in the
    test's transaction by the sign-in's own rule."""
    refused = None
    if found is None and jit and email:
        refused = await jit_refusal(s, tenant_id, email)
    return judge_user(found, email, jit=jit, email_needed=email_needed, jit_refused=refused)


async def pending_row(
    rt: Runtime, pending: PendingLogin, connection_id: str, kind: str
) -> ConnectionTestRow:
    """The test this browser's pending login names, still waiting for its answer; a
    :class:`LoginRefused` page otherwise (a test answered twice, of another connection)."""
    if pending.connection_id != connection_id or pending.kind != kind or not pending.test_id:
        raise LoginRefused("pending_login_invalid", "This test could not be checked.", 400)
    async with rt.db.read() as s:
        row = await get_row(s, pending.test_id)
    if row is None or row.connection_id != connection_id:
        raise LoginRefused("pending_login_invalid", "This test could not be checked.", 400)
    if row.status != "pending":
        raise LoginRefused("test_finished", "This test already has its result.", 400)
    return row


async def conclude(
    s: AsyncSession,
    row: ConnectionTestRow,
    verdict: Verdict,
    facts_extra: Mapping[str, Any],
    now: datetime,
    request_id: str | None,
) -> str:
    """Record ``verdict`` on the row (locked by the caller's transaction) and audit it;
    the page to send the browser to."""
    failed = verdict.failed
    facts = {**facts_extra, **(failed.facts if failed else {})}
    fix = remedy(failed.reason, row.vendor, facts) if failed else None
    stages = build_stages(
        row.protocol,
        failed=failed.stage if failed else None,
        detail=describe(failed.reason, facts) if failed else "",
        remedy=fix,
        facts=facts if failed else None,
        passed_details=verdict.passed,
        signature_checked=verdict.signature_checked,
        signature_verified=verdict.signature_verified,
    )
    complete(
        row,
        stages=stages,
        failed_stage=failed.stage if failed else None,
        reason=failed.reason if failed else None,
        remedy=fix,
        attributes=verdict.attributes,
        mapped=verdict.mapped,
        user=verdict.user,
        now=now,
    )
    rec = AuditRecord(
        "sso.connection.test",
        f"{row.protocol}_connection",
        row.connection_id,
        row.tenant_id,
        status=None if failed is None else 400,
        reason=failed.reason if failed else None,
        request_id=request_id,
    )
    rec.diff = {
        "test": {"before": None, "after": row.id},
        "result": {"before": "pending", "after": row.status},
        "failed_stage": {"before": None, "after": row.failed_stage},
    }
    actor = Actor(row.protocol, row.connection_id, row.tenant_id)
    s.add(entry(actor, rec, "failure" if failed else "success", now))
    return row.result_path


async def lock_pending(s: AsyncSession, test_id: str) -> ConnectionTestRow:
    """The test's row, locked for this transaction, still pending (else a refusal page)."""
    row = await tests_store.lock_pending(s, test_id)
    if row is None:
        raise LoginRefused("test_finished", "This test already has its result.", 400)
    return row
