"""entitlements: the platform's catalogue, tenants' rule sets and their versions, users'
computed entitlements

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 01:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from propylon.db.types import JSONDoc, UTCDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(
            sa.Column("entitlement_rules_version", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_table(
        "entitlement_catalog",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.String(1000), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_entitlement_catalog"),
        sa.UniqueConstraint("kind", "name", name="uq_entitlement_catalog_kind_name"),
    )
    op.create_table(
        "entitlement_rule_sets",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("doc", JSONDoc, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name="fk_entitlement_rule_sets_tenant_id_tenants",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_entitlement_rule_sets"),
    )
    op.create_table(
        "entitlement_rule_versions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("doc", JSONDoc, nullable=False),
        sa.Column("actor", sa.String(255), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name="fk_entitlement_rule_versions_tenant_id_tenants",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_entitlement_rule_versions"),
        sa.UniqueConstraint(
            "tenant_id", "version", name="uq_entitlement_rule_versions_tenant_id_version"
        ),
    )
    op.create_table(
        "user_entitlements",
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("roles", JSONDoc, nullable=False),
        sa.Column("tier", sa.String(255), nullable=True),
        sa.Column("programs", JSONDoc, nullable=False),
        sa.Column("idp_groups", JSONDoc, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_user_entitlements_user_id_users", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name="fk_user_entitlements_tenant_id_tenants",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name="pk_user_entitlements"),
    )
    op.create_index("ix_user_entitlements_tenant", "user_entitlements", ["tenant_id"])


def downgrade() -> None:
    op.drop_index("ix_user_entitlements_tenant", table_name="user_entitlements")
    op.drop_table("user_entitlements")
    op.drop_table("entitlement_rule_versions")
    op.drop_table("entitlement_rule_sets")
    op.drop_table("entitlement_catalog")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("entitlement_rules_version")
