"""portal_links and portal_sessions: the setup portal's links and the sessions they open

Revision ID: 0025_portal
Revises: 0024
Create Date: 2026-12-06 04:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import propylon.db.types

revision = "0025_portal"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    when = propylon.db.types.UTCDateTime(timezone=True)
    op.create_table(
        "portal_links",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "intents", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("expires_at", when, nullable=False),
        sa.Column("return_url", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.Column("redeemed_at", when, nullable=True),
        sa.Column("revoked_at", when, nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_portal_links_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_portal_links_token_hash")),
    )
    op.create_index(op.f("ix_portal_links_tenant_id"), "portal_links", ["tenant_id"])
    op.create_table(
        "portal_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("link_id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.Column("expires_at", when, nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["portal_links.id"],
            name=op.f("fk_portal_sessions_link_id_portal_links"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_portal_sessions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_sessions")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_portal_sessions_secret_hash")),
    )
    op.create_index(op.f("ix_portal_sessions_link_id"), "portal_sessions", ["link_id"])
    op.create_index(op.f("ix_portal_sessions_tenant_id"), "portal_sessions", ["tenant_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_portal_sessions_tenant_id"), table_name="portal_sessions")
    op.drop_index(op.f("ix_portal_sessions_link_id"), table_name="portal_sessions")
    op.drop_table("portal_sessions")
    op.drop_index(op.f("ix_portal_links_tenant_id"), table_name="portal_links")
    op.drop_table("portal_links")
