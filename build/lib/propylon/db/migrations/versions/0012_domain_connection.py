"""an email domain names the connection its people sign in through

A tenant with several connections (a merger brings a second IdP) routes each login by the
email's domain to the connection bound to it, never silently to the oldest one.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 01:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenant_domains") as batch:
        batch.add_column(sa.Column("connection_id", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tenant_domains") as batch:
        batch.drop_column("connection_id")
