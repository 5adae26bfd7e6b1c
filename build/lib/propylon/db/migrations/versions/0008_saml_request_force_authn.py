"""a pending AuthnRequest remembers whether it asked for ForceAuthn

The ACS then refuses an assertion whose AuthnInstant predates such a request: the IdP did
not authenticate the person anew (OpenID Connect ``prompt=login`` / ``max_age``). Existing
pending requests asked for nothing (server default false).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 07:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "saml_requests",
        sa.Column("force_authn", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("saml_requests", "force_authn")
