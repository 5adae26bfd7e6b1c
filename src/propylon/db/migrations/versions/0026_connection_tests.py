"""connection_tests: the results of test connections (a sign-in that starts no session)

Revision ID: 0026_connection_tests
Revises: 0025_portal
Create Date: 2026-12-06 04:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import propylon.db.types

revision = "0026_connection_tests"
down_revision = "0025_portal"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "connection_tests",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("connection_id", sa.String(length=64), nullable=False),
        sa.Column("protocol", sa.String(length=8), nullable=False),
        sa.Column("vendor", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("result_path", sa.Text(), nullable=False),
        sa.Column("started_by", sa.String(length=128), nullable=False),
        sa.Column("started_at", propylon.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", propylon.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", propylon.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failed_stage", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("result", propylon.db.types.JSONDoc, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connection_tests")),
    )
    op.create_index(
        "ix_connection_tests_tenant_id_connection_id",
        "connection_tests",
        ["tenant_id", "connection_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_connection_tests_tenant_id_connection_id", table_name="connection_tests")
    op.drop_table("connection_tests")
