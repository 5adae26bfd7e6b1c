"""tenants and SCIM directories are deleted softly, then purged after the retention period

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 02:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import propylon.db.types

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("tenants", "scim_directories"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("deleted_at", propylon.db.types.UTCDateTime(timezone=True), nullable=True)
            )


def downgrade() -> None:
    for table in ("tenants", "scim_directories"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("deleted_at")
