"""login sessions are found by the IdP's session id on a connection (an OpenID Connect
back-channel logout token naming only its ``sid``)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 23:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_login_sessions_idp_session",
        "login_sessions",
        ["connection_id", "idp_session_index"],
    )


def downgrade() -> None:
    op.drop_index("ix_login_sessions_idp_session", table_name="login_sessions")
