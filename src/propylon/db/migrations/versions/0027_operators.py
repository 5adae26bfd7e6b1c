"""operators: console operator accounts and console sessions

Revision ID: 0027_operators
Revises: 0026_connection_tests
Create Date: 2026-12-06 04:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import propylon.db.types

revision = "0027_operators"
down_revision = "0026_connection_tests"
branch_labels = None
depends_on = None

_WHEN = propylon.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "operators",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("totp_secret", sa.Text(), nullable=False),
        sa.Column("totp_last_step", sa.BigInteger(), nullable=True),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operators")),
        sa.UniqueConstraint("email", name=op.f("uq_operators_email")),
    )
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("operator_id", sa.String(64), nullable=True),
        sa.Column("subject", sa.String(64), nullable=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("last_seen_at", _WHEN, nullable=False),
        sa.Column("expires_at", _WHEN, nullable=False),
        sa.Column("revoked_at", _WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_sessions")),
    )
    op.create_index("ix_console_sessions_operator_id", "console_sessions", ["operator_id"])
    op.create_index("ix_console_sessions_expires_at", "console_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_console_sessions_expires_at", "console_sessions")
    op.drop_index("ix_console_sessions_operator_id", "console_sessions")
    op.drop_table("console_sessions")
    op.drop_table("operators")
