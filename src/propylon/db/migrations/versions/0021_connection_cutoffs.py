"""connection_cutoffs: a disabled or deleted SAML/OIDC connection's sessions are dead; refresh
tokens are found by their session (an ended session's token families are revoked)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 01:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import propylon.db.types

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "connection_cutoffs",
        sa.Column("connection_id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=True),
        sa.Column("sessions_before", propylon.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("updated_at", propylon.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("connection_id", name=op.f("pk_connection_cutoffs")),
    )
    op.create_index("ix_oauth_refresh_tokens_session_id", "oauth_refresh_tokens", ["session_id"])


def downgrade() -> None:
    op.drop_index("ix_oauth_refresh_tokens_session_id", table_name="oauth_refresh_tokens")
    op.drop_table("connection_cutoffs")
