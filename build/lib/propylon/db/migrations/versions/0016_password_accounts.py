"""Password accounts: credentials and the single-use links mailed for them

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 22:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import propylon.db.types

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_WHEN = propylon.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "password_credentials",
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("email_verified_at", _WHEN, nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_index(
        "uq_password_credentials_tenant_email",
        "password_credentials",
        ["tenant_id", "email"],
        unique=True,
    )
    op.create_table(
        "password_tokens",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=True),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("browser_hash", sa.String(64), nullable=True),
        sa.Column("return_to", sa.Text(), nullable=True),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("expires_at", _WHEN, nullable=False),
        sa.Column("used_at", _WHEN, nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_password_tokens_expires_at", "password_tokens", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_password_tokens_expires_at", table_name="password_tokens")
    op.drop_table("password_tokens")
    op.drop_index("uq_password_credentials_tenant_email", table_name="password_credentials")
    op.drop_table("password_credentials")
