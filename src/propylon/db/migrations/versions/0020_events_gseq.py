"""events.gseq: the global sequence number the feed's sequencer gives committed events
(the cursor of the events API and stream), and feed_state, its high-water mark

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 01:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("gseq", sa.BigInteger(), nullable=True))
    op.create_index("uq_events_gseq", "events", ["gseq"], unique=True)
    unsequenced = sa.text("gseq IS NULL")
    op.create_index(
        "ix_events_unsequenced",
        "events",
        ["tenant_id", "seq"],
        postgresql_where=unsequenced,
        sqlite_where=unsequenced,
    )
    state = op.create_table(
        "feed_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_gseq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(state, [{"id": 1, "last_gseq": 0}])


def downgrade() -> None:
    op.drop_table("feed_state")
    op.drop_index("ix_events_unsequenced", table_name="events")
    op.drop_index("uq_events_gseq", table_name="events")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("gseq")
