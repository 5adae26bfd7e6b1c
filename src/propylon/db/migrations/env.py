"""Alembic environment. Propylon always hands in a live connection (see ``db.migrate``)."""

from __future__ import annotations

from alembic import context

from propylon.db import (  # noqa: F401  (register their tables)
    tables_delivery,
    tables_entitlements,
    tables_feed,
    tables_oidc,
    tables_operators,
    tables_password,
    tables_portal,
    tables_revoke,
    tables_saml,
    tables_setup,
    tables_signals,
    tables_sso,
    tables_testidp,
)
from propylon.db.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only `alembic` CLI use without Propylon
    raise RuntimeError("run migrations through `propylon migrate`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
