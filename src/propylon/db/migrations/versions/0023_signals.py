"""Back-channel logout as OpenID Provider and Shared Signals streams: apps' logout URIs, the
apps each session reached, SSF event streams

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 01:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import propylon.db.types

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

_WHEN = propylon.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("oauth_clients") as batch:
        batch.add_column(sa.Column("backchannel_logout_uri", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column(
                "backchannel_logout_session_required",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )
    op.create_table(
        "session_grants",
        sa.Column("grant_id", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("auth_method", sa.String(16), nullable=False),
        sa.Column("session_created_at", _WHEN, nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("expires_at", _WHEN, nullable=False),
        sa.Column("logout_sent_at", _WHEN, nullable=True),
        sa.PrimaryKeyConstraint("grant_id", name="pk_session_grants"),
    )
    op.create_index("ix_session_grants_session_id", "session_grants", ["session_id"])
    op.create_index("ix_session_grants_user_id", "session_grants", ["user_id"])
    op.create_index("ix_session_grants_tenant_id", "session_grants", ["tenant_id"])
    op.create_table(
        "ssf_streams",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("config", propylon.db.types.JSONDoc, nullable=False),
        sa.Column("endpoint_url", sa.Text(), nullable=False),
        sa.Column("authorization_header", sa.Text(), nullable=True),
        sa.Column("tenant_id", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ssf_streams"),
    )
    op.create_index("ix_ssf_streams_status", "ssf_streams", ["status"])


def downgrade() -> None:
    op.drop_index("ix_ssf_streams_status", table_name="ssf_streams")
    op.drop_table("ssf_streams")
    op.drop_index("ix_session_grants_tenant_id", table_name="session_grants")
    op.drop_index("ix_session_grants_user_id", table_name="session_grants")
    op.drop_index("ix_session_grants_session_id", table_name="session_grants")
    op.drop_table("session_grants")
    with op.batch_alter_table("oauth_clients") as batch:
        batch.drop_column("backchannel_logout_session_required")
        batch.drop_column("backchannel_logout_uri")
