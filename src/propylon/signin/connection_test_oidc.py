"""The answer to an OpenID Connect test connection at the callback: the authorization
response checked (RFC 9207 ``iss``, an ``error`` from the provider), the code redeemed with
the test's PKCE verifier, the ID token validated exactly as a sign-in validates it (and
remembered in the replay cache), the claims mapped, the user matched but never
provisioned, no session started; the result recorded on the test."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from propylon.oidc.authorization import check_iss_parameter
from propylon.oidc.errors import OidcError
from propylon.oidc.id_token import IdTokenClaims
from propylon.outbound import OutboundError
from propylon.runtime import Runtime
from propylon.sessions.pending_cookie import PendingLogin
from propylon.setup.stages import stage_of
from propylon.signin.connection_test import load_any_oidc
from propylon.signin.connection_test_record import (
    StageFailure,
    Verdict,
    bounded_attributes,
    conclude,
    judge,
    lock_pending,
    mapped_fields,
    pending_row,
)
from propylon.signin.oidc_rp import metadata
from propylon.signin.oidc_sso import redeem_code, redirect_uri
from propylon.signin.oidc_users import (
    EmailNotVerified,
    claims_as_attributes,
    find_oidc_user,
    verified_email,
)
from propylon.signin.replay import OIDC_TOKENS, remember_once
from propylon.signin.saml_sso import LoginRefused
from propylon.tenants.oidc_connections import OidcConnectionRecord

_DETAIL_KEYS = ("expected", "found", "status", "error", "cause", "exp")


def _oidc_failure(exc: OidcError) -> StageFailure:
    facts = {k: v for k, v in exc.details.items() if k in _DETAIL_KEYS}
    stage = stage_of("oidc", exc.reason, where=exc.stage, detail=exc.detail)
    return StageFailure(exc.reason, stage, facts)


async def _answer(
    rt: Runtime, conn: OidcConnectionRecord, pending: PendingLogin, params: Mapping[str, str]
) -> tuple[IdTokenClaims, dict[str, Any]]:
    """The validated ID token and claims of the callback, or :class:`StageFailure`."""
    if pending.expires_at <= rt.clock():
        raise StageFailure("request_used_or_expired", "response_received")
    try:
        meta = await metadata(rt, conn)
    except (OidcError, OutboundError) as exc:
        raise StageFailure("discovery_failed", "idp_reached", {"issuer": conn.issuer}) from exc
    try:
        check_iss_parameter(meta, params.get("iss"))
        if "error" in params:
            facts = {
                "error": params["error"][:128],
                "error_description": params.get("error_description", "")[:512],
            }
            raise StageFailure("idp_error", "response_received", facts)
        code = params.get("code")
        if not code:
            raise StageFailure("code_missing", "response_received")
        return await redeem_code(rt, conn, pending, code, rt.clock())
    except OidcError as exc:
        raise _oidc_failure(exc) from exc
    except OutboundError as exc:
        raise StageFailure("idp_unreachable", "token", {"cause": str(exc)[:200]}) from exc
    except LoginRefused as exc:
        raise StageFailure(exc.reason, stage_of("oidc", exc.reason)) from exc


async def finish_oidc_test(
    rt: Runtime,
    connection_id: str,
    pending: PendingLogin,
    params: Mapping[str, str],
    request_id: str | None = None,
) -> str:
    """Check the authorization response at the callback as the answer to the test
    ``pending`` names, record the result, return the page to send the browser to."""
    async with rt.db.read() as s:
        conn = await load_any_oidc(s, connection_id)
    row = await pending_row(rt, pending, conn.id, "oidc")
    verdict = Verdict()
    validated: IdTokenClaims | None = None
    claims: dict[str, Any] = {}
    try:
        validated, claims = await _answer(rt, conn, pending, params)
    except StageFailure as exc:
        verdict.failed = exc
    now = rt.clock()
    facts: dict[str, Any] = {"redirect_uri": redirect_uri(rt, conn), "issuer": conn.issuer}
    async with rt.db.write() as s:
        row = await lock_pending(s, row.id)
        if validated is not None:
            try:
                await _judge(rt, s, conn, validated, claims, verdict, now)
            except StageFailure as exc:
                verdict.failed = exc
        return await conclude(s, row, verdict, facts, now, request_id)


async def _judge(
    rt: Runtime,
    s: AsyncSession,
    conn: OidcConnectionRecord,
    validated: IdTokenClaims,
    claims: dict[str, Any],
    verdict: Verdict,
    now: datetime,
) -> None:
    verdict.passed = {
        "response_received": "authorization code received",
        "token": "code exchanged",
        "signature": "ID token signature verified",
        "issuer": validated.issuer,
        "audience": conn.client_id,
        "time_window": f"valid until {validated.expires_at.isoformat()}",
        "nonce": "matches the test's request",
    }
    attributes = claims_as_attributes(claims)
    verdict.attributes = bounded_attributes(attributes)
    verdict.mapped = mapped_fields(attributes, conn.claim_map)
    until = validated.expires_at + timedelta(seconds=rt.settings.oidc_clock_skew_seconds)
    if not await remember_once(s, OIDC_TOKENS, conn.id, validated.replay_key, until, now):
        raise StageFailure("id_token_replayed", "token")
    try:
        email = verified_email(attributes, claims, conn.claim_map, require_verified=False)
    except EmailNotVerified as exc:
        raise StageFailure("email_not_verified", "attributes") from exc
    found = await find_oidc_user(s, conn.tenant_id, conn.match_by, validated.sub, email)
    verdict.user = await judge(
        s, conn.tenant_id, found, email, jit=conn.jit, email_needed=conn.match_by == "email"
    )
    verdict.passed["attributes"] = f"email {email}" if email else f"sub {validated.sub}"
    verdict.passed["user"] = str(verdict.user["outcome"]).replace("_", " ")
