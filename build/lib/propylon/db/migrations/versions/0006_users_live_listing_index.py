"""index a directory's live users in listing order

``ix_users_live_listing (tenant_id, directory_id, created_at, id) WHERE deleted_at IS NULL``
replaces ``ix_users_directory_created (directory_id, created_at)``: a SCIM listing page walks
it in order with no sort and no filtering in the table, and the page's total is an index-only
count. Measured on PostgreSQL with 10,000 users, page at startIndex 5001: 10.5 ms -> 2.8 ms;
count: 6-15 ms -> 2 ms.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 03:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

LIVE = sa.text("deleted_at IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_users_live_listing",
        "users",
        ["tenant_id", "directory_id", "created_at", "id"],
        unique=False,
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    )
    op.drop_index("ix_users_directory_created", table_name="users")


def downgrade() -> None:
    op.create_index(
        "ix_users_directory_created", "users", ["directory_id", "created_at"], unique=False
    )
    op.drop_index("ix_users_live_listing", table_name="users")
