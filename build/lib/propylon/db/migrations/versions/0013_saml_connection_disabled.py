"""a SAML connection can be disabled without being deleted

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 01:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import propylon.db.types

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("saml_connections") as batch:
        batch.add_column(
            sa.Column("disabled_at", propylon.db.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("saml_connections") as batch:
        batch.drop_column("disabled_at")
