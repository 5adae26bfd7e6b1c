"""The feed's contract: a sequenced event and the hooks that run with the sequencing.

The envelope is the one JSON shape of the events API, the SSE stream and webhooks
(``docs/events.md``). Timestamps are RFC 3339 (RFC 3339 §5.6) in UTC.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from propylon.rfc3339 import rfc3339


@dataclass(frozen=True)
class SequencedEvent:
    """An outbox event once the sequencer gave it its global number."""

    seq: int
    """The global sequence number (``events.gseq``): the cursor of the API and the stream."""
    id: str
    tenant_id: str
    tenant_seq: int
    """The tenant's gapless sequence number (``events.seq``)."""
    type: str
    subject_type: str
    subject_id: str
    data: dict[str, Any]
    created_at: datetime

    def envelope(self) -> dict[str, Any]:
        """``{"id","seq","tenant_id","tenant_seq","type","subject":{"type","id"},"data",
        "created_at"}``: what the events API, the SSE stream and webhooks carry."""
        return {
            "id": self.id,
            "seq": self.seq,
            "tenant_id": self.tenant_id,
            "tenant_seq": self.tenant_seq,
            "type": self.type,
            "subject": {"type": self.subject_type, "id": self.subject_id},
            "data": self.data,
            "created_at": rfc3339(self.created_at),
        }


FeedHook = Callable[[AsyncSession, list[SequencedEvent], datetime], Awaitable[None]]
"""Called by the sequencer INSIDE its transaction with each batch it numbered (in ``seq``
order) and the time: what a hook writes commits exactly when the numbering does, so a
batch is handed to the hooks exactly once. A hook that raises rolls the batch back; it is
tried again later. Registered on ``Runtime.feed_hooks`` by ``build_runtime``."""

FEED_CHANNEL = "feed"
"""The accelerator channel: published after a commit that wrote events (wakes the
sequencers) and after a batch was numbered (wakes every process's follower)."""
