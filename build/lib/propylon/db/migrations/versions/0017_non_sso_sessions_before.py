"""tenants.non_sso_sessions_before: password and Google sessions of a tenant created before
it are dead (set when the tenant starts enforcing SSO, never moved back)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 22:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import propylon.db.types

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(
            sa.Column(
                "non_sso_sessions_before",
                propylon.db.types.UTCDateTime(timezone=True),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("non_sso_sessions_before")
