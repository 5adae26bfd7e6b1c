"""saml connection names the app IdP-initiated logins land in

A plain nullable column, no foreign key: apps are revoked rather than deleted, so the app is
checked when the connection is created and again at every IdP-initiated login. Adding and
dropping a column does not rebuild ``saml_connections`` on SQLite (a rebuild would cascade
into its pending ``saml_requests``).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 10:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "saml_connections",
        sa.Column("idp_initiated_client_id", sa.String(length=64), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("saml_connections", "idp_initiated_client_id")
