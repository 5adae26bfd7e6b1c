"""Secrets at rest, across the tables that hold them: seal what an older version stored in
clear, and re-seal everything under the first ``PROPYLON_SECRET_KEY`` after a rotation.

Alembic migrations never see the key-encryption key, so sealing old plaintext rows is a
step the runtime runs itself: every server start (:func:`seal_stored_secrets`, also run by
``propylon migrate``) and ``propylon secrets rotate`` (:func:`rotate_secret_key`). Rows are
read ``FOR UPDATE`` in one transaction, so processes starting together seal each row once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import Column, Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.admin.audited import audited
from propylon.audit import Actor, AuditRecord
from propylon.crypto.secretbox import SecretBox, SecretBoxError, is_sealed, key_id_of
from propylon.db.tables import core
from propylon.db.tables_delivery import WebhookEndpoint
from propylon.db.tables_oidc import OidcConnection
from propylon.db.tables_operators import Operator
from propylon.db.tables_saml import SamlConnection
from propylon.db.tables_signals import SsfStream
from propylon.db.tables_sso import SigningKey
from propylon.db.tables_testidp import TestIdpKey
from propylon.errors import InvalidInput
from propylon.oauth_store.signing_keys import open_jwk, seal_jwk
from propylon.operators.accounts import TOTP_PURPOSE
from propylon.runtime import Runtime
from propylon.signals.streams import reseal_authorization
from propylon.tenants.oidc_connections import reseal_client_key, reseal_client_secret
from propylon.tenants.saml_connections import open_sp_key, seal_sp_key
from propylon.testidp.keys import PURPOSE as TEST_IDP_KEY
from propylon.webhooks.endpoints import reseal as reseal_webhook_secret

SYSTEM = Actor("system", "startup")
log = structlog.get_logger("propylon.secrets")


@dataclass(frozen=True)
class _Column:
    """A column holding one sealed secret per row."""

    name: str
    table: Table
    row_id: str
    value: str
    sealed: Callable[[Any], str | None]
    """The sealed text of a stored value; ``None`` for a plaintext (pre-sealing) value."""
    reseal: Callable[[SecretBox, str, Any], Any]
    """The stored value sealed under the box's first key, from any stored form."""


_COLUMNS = (
    _Column(
        "signing_keys",
        core(SigningKey),
        "kid",
        "private_jwk",
        lambda stored: stored.get("sealed"),
        lambda box, kid, stored: seal_jwk(box, kid, open_jwk(box, kid, stored)),
    ),
    _Column(
        "saml_sp_keys",
        core(SamlConnection),
        "id",
        "sp_private_key_pem",
        lambda stored: stored if is_sealed(stored) else None,
        lambda box, cid, stored: seal_sp_key(box, cid, open_sp_key(box, cid, stored)),
    ),
    # OIDC credentials were sealed from the first row (a connection holds one of the two)
    _Column(
        "oidc_client_secrets",
        core(OidcConnection),
        "id",
        "client_secret",
        lambda stored: stored,
        reseal_client_secret,
    ),
    _Column(
        "oidc_client_keys",
        core(OidcConnection),
        "id",
        "private_key_pem",
        lambda stored: stored,
        reseal_client_key,
    ),
    # Shared Signals streams' Authorization header, sealed from the first row
    _Column(
        "ssf_stream_authorizations",
        core(SsfStream),
        "id",
        "authorization_header",
        lambda stored: stored,
        reseal_authorization,
    ),
    # webhook signing secrets, sealed from the first row; the previous one during a rotation
    _Column(
        "webhook_secrets",
        core(WebhookEndpoint),
        "id",
        "secret",
        lambda stored: stored,
        reseal_webhook_secret,
    ),
    _Column(
        "webhook_previous_secrets",
        core(WebhookEndpoint),
        "id",
        "previous_secret",
        lambda stored: stored,
        reseal_webhook_secret,
    ),
    # operators' TOTP secrets and the test IdP's private keys, sealed from the first row
    _Column(
        "operator_totp_secrets",
        core(Operator),
        "id",
        "totp_secret",
        lambda stored: stored,
        lambda box, oid, stored: box.seal(box.open(stored, TOTP_PURPOSE, oid), TOTP_PURPOSE, oid),
    ),
    _Column(
        "test_idp_keys",
        core(TestIdpKey),
        "purpose",
        "private_key_pem",
        lambda stored: stored,
        lambda box, p, stored: box.seal(box.open(stored, TEST_IDP_KEY, p), TEST_IDP_KEY, p),
    ),
)


async def _reseal(
    s: AsyncSession, box: SecretBox, column: _Column, *, rotate: bool
) -> dict[str, int]:
    """Seal the column's plaintext values, and with ``rotate`` also those sealed under a key
    other than the first."""
    row_id: Column[Any] = column.table.c[column.row_id]
    value: Column[Any] = column.table.c[column.value]
    live = select(row_id, value).where(value.is_not(None))  # a nullable column: only values
    rows = (await s.execute(live.order_by(row_id).with_for_update())).all()
    changed = 0
    for rid, stored in rows:
        sealed = column.sealed(stored)
        if sealed is not None and not (rotate and box.needs_reseal(sealed)):
            continue
        try:
            new = column.reseal(box, rid, stored)
        except SecretBoxError as exc:
            raise InvalidInput(f"{column.name} {rid}: {exc}") from None
        await s.execute(update(column.table).where(row_id == rid).values({column.value: new}))
        changed += 1
    return {"resealed": changed, "total": len(rows)}


async def _reseal_all(rt: Runtime, actor: Actor, action: str, *, rotate: bool) -> dict[str, Any]:
    async def op(s: AsyncSession, rec: AuditRecord) -> dict[str, Any]:
        out: dict[str, Any] = {"key_id": rt.secret_box.key_id}
        for column in _COLUMNS:
            out[column.name] = await _reseal(s, rt.secret_box, column, rotate=rotate)
        rec.target_type, rec.target_id = "secret_key", rt.secret_box.key_id
        rec.diff = {c.name: {"before": None, "after": out[c.name]["resealed"]} for c in _COLUMNS}
        return out

    return await audited(rt, actor, action, op)


async def seal_stored_secrets(rt: Runtime) -> dict[str, Any]:
    """Seal every secret still stored in clear (rows from before sealing existed); audited
    only when there was one. Values sealed under a key that is not configured (a lost key
    file, a key left out of ``PROPYLON_SECRET_KEY``) are logged by key id: they cannot be
    used until that key is configured again."""
    plain = 0
    unknown: dict[str, int] = {}
    known = set(rt.secret_box.key_ids)
    async with rt.db.read() as s:
        for column in _COLUMNS:
            stored_values = select(column.table.c[column.value])
            for stored in (await s.execute(stored_values)).scalars():
                if stored is None:  # a nullable column (OIDC: the other credential)
                    continue
                sealed = column.sealed(stored)
                if sealed is None:
                    plain += 1
                elif (key_id := key_id_of(sealed)) not in known:
                    unknown[key_id] = unknown.get(key_id, 0) + 1
    if unknown:
        log.error("secrets_sealed_under_unknown_keys", key_ids=unknown, configured=sorted(known))
    if not plain:
        return {"key_id": rt.secret_box.key_id}
    return await _reseal_all(rt, SYSTEM, "secrets.seal", rotate=False)


async def rotate_secret_key(rt: Runtime, actor: Actor) -> dict[str, Any]:
    """Re-seal every stored secret under the first configured secret key (the others must
    still be configured: a value none of them opens stops the rotation, nothing changed)."""
    out = await _reseal_all(rt, actor, "secrets.rotate", rotate=True)
    return {**out, "key_ids": rt.secret_box.key_ids}
