"""session references without foreign keys

Authorization codes and refresh tokens keep ``session_id`` but no longer reference
``login_sessions``: in production mode sessions live in Redis, and the session is checked
through the session store whenever a code or refresh token is used.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TABLES = ("oauth_codes", "oauth_refresh_tokens")


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(
                batch_op.f(f"fk_{table}_session_id_login_sessions"), type_="foreignkey"
            )


def downgrade() -> None:
    for table in _TABLES:
        # codes and tokens of sessions that were kept in Redis cannot reference a row
        op.execute(
            sa.text(f"DELETE FROM {table} WHERE session_id NOT IN (SELECT id FROM login_sessions)")
        )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_foreign_key(
                batch_op.f(f"fk_{table}_session_id_login_sessions"),
                "login_sessions",
                ["session_id"],
                ["id"],
                ondelete="CASCADE",
            )
