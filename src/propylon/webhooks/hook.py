"""From sequenced events to signed webhook requests.

:func:`feed_hook` runs in the feed sequencer's transaction (``feed/model.py``): each event of
a numbered batch, in global order (so in each tenant's order), becomes one ``webhook``
delivery per endpoint whose tenant and types match; its ordering key is (endpoint, tenant),
so a tenant's next event waits for the previous one at that endpoint and a failing tenant
does not hold the others. :class:`WebhookRenderer` signs the envelope at each attempt
(Standard Webhooks: ``webhook-id`` is the event id, stable across retries, so a receiver can
drop duplicates of an at-least-once delivery)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from propylon.crypto.secretbox import SecretBox
from propylon.db.tables_delivery import WebhookEndpoint
from propylon.delivery.model import KIND_WEBHOOK, Delivery, QueuedDelivery, Rendered, enqueue
from propylon.feed.model import FeedHook, SequencedEvent
from propylon.webhooks import endpoints, signing


def deliveries_for(rows: list[WebhookEndpoint], events: list[SequencedEvent]) -> list[Delivery]:
    out = []
    for event in events:
        envelope = None
        for row in rows:
            if row.tenant_id is not None and row.tenant_id != event.tenant_id:
                continue
            if not endpoints.matches(list(row.event_types.get("types", [])), event.type):
                continue
            envelope = envelope or event.envelope()
            out.append(Delivery(KIND_WEBHOOK, row.id, event.tenant_id, envelope, event.id))
    return out


def feed_hook() -> FeedHook:
    async def hook(s: AsyncSession, events: list[SequencedEvent], now: datetime) -> None:
        if not events:
            return
        rows = await endpoints.all_endpoints(s)
        if rows:
            await enqueue(s, deliveries_for(rows, events), now)

    return hook


class WebhookRenderer:
    kind = KIND_WEBHOOK

    def __init__(self, box: SecretBox) -> None:
        self.box = box

    async def render(self, s: AsyncSession, item: QueuedDelivery, now: datetime) -> Rendered | None:
        row = await s.get(WebhookEndpoint, item.destination)
        if row is None:
            return None
        body = json.dumps(item.payload, separators=(",", ":"), ensure_ascii=False).encode()
        msg_id = item.event_id or f"dlv_{item.id}"
        secrets = endpoints.signing_secrets(self.box, row, now)
        return Rendered(row.url, body, signing.headers(secrets, msg_id, int(now.timestamp()), body))
