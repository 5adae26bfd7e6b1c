"""a sign-in session remembers when the person authenticated at the IdP

``auth_time`` (OpenID Connect Core §2) and ``max_age`` then speak of the IdP's
authentication (a SAML AuthnInstant), not of the moment Propylon created the session.
Sessions stored before have none; their creation stands in.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 07:25:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import propylon.db.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "login_sessions",
        sa.Column("authenticated_at", propylon.db.types.UTCDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("login_sessions", "authenticated_at")
