"""revocation that lasts: a per-user revocation epoch, and what a SAML LogoutRequest must name

``users.revocation_epoch`` goes up by one whenever all of a user's sign-ins are revoked
(deactivation, deprovisioning); every session records the epoch it was created in
(``login_sessions.user_epoch``; Redis sessions carry it as a field) and is active only while
the two agree, so a reactivated user's old sessions, refresh tokens and access tokens stay
dead. A session also keeps the NameID's Format, NameQualifier and SPNameQualifier (SAML Core
§2.2.3), which an SP-initiated LogoutRequest must repeat (§3.7.1).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 01:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_NAME_ID_COLUMNS = ("name_id_format", "name_qualifier", "sp_name_qualifier")


def upgrade() -> None:
    op.add_column(
        "users", sa.Column("revocation_epoch", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column(
        "login_sessions",
        sa.Column("user_epoch", sa.Integer(), nullable=False, server_default="0"),
    )
    for name in _NAME_ID_COLUMNS:
        op.add_column("login_sessions", sa.Column(name, sa.Text(), nullable=True))


def downgrade() -> None:
    for name in reversed(_NAME_ID_COLUMNS):
        op.drop_column("login_sessions", name)
    op.drop_column("login_sessions", "user_epoch")
    op.drop_column("users", "revocation_epoch")
