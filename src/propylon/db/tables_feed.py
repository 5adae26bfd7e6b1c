"""The feed's table: the global sequence's high-water mark (``feed/sequencer.py``).

``events.gseq`` itself is a column of the outbox (``db/tables.py Event``)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer
from sqlalchemy.orm import Mapped, mapped_column

from propylon.db.tables import Base

FEED_STATE_ID = 1


class FeedState(Base):
    """One row (``id`` 1): the last global sequence number given. Kept apart from the events
    so a retention purge of every event never lets a number be given twice."""

    __tablename__ = "feed_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_gseq: Mapped[int] = mapped_column(BigInteger)
