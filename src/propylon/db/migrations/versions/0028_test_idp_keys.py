"""test_idp_keys: the built-in test IdP's signing keys, generated once, sealed at rest

Revision ID: 0028_test_idp_keys
Revises: 0027_operators
Create Date: 2026-12-06 05:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import propylon.db.types

revision = "0028_test_idp_keys"
down_revision = "0027_operators"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "test_idp_keys",
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("private_key_pem", sa.Text(), nullable=False),
        sa.Column("certificate_pem", sa.Text(), nullable=False),
        sa.Column("created_at", propylon.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("purpose", name=op.f("pk_test_idp_keys")),
    )


def downgrade() -> None:
    op.drop_table("test_idp_keys")
