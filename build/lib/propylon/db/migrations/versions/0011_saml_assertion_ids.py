"""accepted SAML assertion ids, remembered in the database until the assertion expires

A replay cache only in Redis forgot them when Redis restarted without persistence, and an
IdP-initiated assertion was accepted a second time (SAML Profiles §4.1.4.5).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 01:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import propylon.db.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "saml_assertion_ids",
        sa.Column("connection_id", sa.String(length=64), nullable=False),
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", propylon.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["saml_connections.id"],
            name=op.f("fk_saml_assertion_ids_connection_id_saml_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("connection_id", "id_hash", name=op.f("pk_saml_assertion_ids")),
    )


def downgrade() -> None:
    op.drop_table("saml_assertion_ids")
