"""tell the PostgreSQL planner that a directory belongs to one tenant

A directory's rows always carry its tenant, so ``tenant_id = … AND directory_id = …`` selects
as many rows as ``directory_id`` alone. Without extended statistics the planner multiplies
the two selectivities (PostgreSQL manual §14.2.2) and, next to a large tenant, expects a few
hundred rows where a directory has thousands. It then sorts the whole directory (spilling
wide rows to disk) instead of walking ``ix_users_live_listing`` in order. Measured with a
10,000-user directory beside a 100,000-user tenant, listing page at startIndex 5001:
25-34 ms -> 2.2 ms. Functional-dependency statistics (``CREATE STATISTICS … (dependencies)``)
fix the estimate; ``ANALYZE`` fills them now rather than at the next autovacuum. SQLite has
no such planner statistics: nothing to do there.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 07:40:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLES = ("users", "groups")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(
            f"CREATE STATISTICS IF NOT EXISTS st_{table}_tenant_directory (dependencies) "
            f"ON tenant_id, directory_id FROM {table}"
        )
        op.execute(f"ANALYZE {table}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP STATISTICS IF EXISTS st_{table}_tenant_directory")
