"""OIDC connections and the tokens they accept once; tenants' sign-in methods, SSO
enforcement and vanity host; domains proved in DNS

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 22:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import propylon.db.types

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_WHEN = propylon.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "oidc_connections",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("issuer", sa.Text(), nullable=False),
        sa.Column("client_id", sa.String(255), nullable=False),
        sa.Column("client_secret", sa.Text(), nullable=True),
        sa.Column("private_key_pem", sa.Text(), nullable=True),
        sa.Column("auth_method", sa.String(32), nullable=False),
        sa.Column("scopes", propylon.db.types.JSONDoc, nullable=False),
        sa.Column("trusted_audiences", propylon.db.types.JSONDoc, nullable=False),
        sa.Column("preset", sa.String(16), nullable=False),
        sa.Column("claim_map", propylon.db.types.JSONDoc, nullable=False),
        sa.Column("use_userinfo", sa.Boolean(), nullable=False),
        sa.Column("jit", sa.Boolean(), nullable=False),
        sa.Column("match_by", sa.String(16), nullable=False),
        sa.Column("disabled_at", _WHEN, nullable=True),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_oidc_connections_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_connections")),
    )
    op.create_index(
        op.f("ix_oidc_connections_tenant_id"), "oidc_connections", ["tenant_id"], unique=False
    )
    op.create_table(
        "oidc_token_uses",
        sa.Column("connection_id", sa.String(64), nullable=False),
        sa.Column("id_hash", sa.String(64), nullable=False),
        sa.Column("expires_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("connection_id", "id_hash", name=op.f("pk_oidc_token_uses")),
    )
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(
            sa.Column("enforce_sso", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("allow_password", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(
            sa.Column("allow_google", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(sa.Column("hostname", sa.String(253), nullable=True))
        batch.create_unique_constraint(op.f("uq_tenants_hostname"), ["hostname"])
    with op.batch_alter_table("tenant_domains") as batch:
        batch.add_column(
            sa.Column("source", sa.String(16), nullable=False, server_default="operator")
        )
        batch.add_column(sa.Column("verification_token", sa.String(128), nullable=True))
        batch.add_column(sa.Column("verified_at", _WHEN, nullable=True))
        batch.add_column(sa.Column("last_checked_at", _WHEN, nullable=True))
        batch.add_column(sa.Column("lapsed_at", _WHEN, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tenant_domains") as batch:
        for column in (
            "lapsed_at",
            "last_checked_at",
            "verified_at",
            "verification_token",
            "source",
        ):
            batch.drop_column(column)
    with op.batch_alter_table("tenants") as batch:
        batch.drop_constraint(op.f("uq_tenants_hostname"), type_="unique")
        for column in ("hostname", "allow_google", "allow_password", "enforce_sso"):
            batch.drop_column(column)
    op.drop_table("oidc_token_uses")
    op.drop_index(op.f("ix_oidc_connections_tenant_id"), table_name="oidc_connections")
    op.drop_table("oidc_connections")
