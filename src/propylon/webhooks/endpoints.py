"""Webhook endpoints: the URL, which tenant's and which types of events, and the signing
secret sealed at rest (``crypto/secretbox``, purpose :data:`SECRET_PURPOSE`, row = endpoint
id). A rotation keeps the previous secret valid (both signatures sent) for a grace period."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from propylon import errors
from propylon.crypto.secretbox import SecretBox
from propylon.db.tables_delivery import WebhookEndpoint
from propylon.ids import Kind, new_id, plausible
from propylon.outbound import OutboundError
from propylon.outbound.client import parse_url
from propylon.rfc3339 import rfc3339
from propylon.text import UNSTORABLE
from propylon.webhooks import signing

SECRET_PURPOSE = "webhook-secret"
_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?$|^\*$")
MAX_TYPES = 100


def validate_url(url: str, *, allow_http: bool) -> str:
    if not url or url != url.strip() or len(url) > 2000 or UNSTORABLE.search(url):
        raise errors.InvalidInput("invalid webhook URL")
    try:
        parsed = parse_url(url)
    except OutboundError as exc:
        raise errors.InvalidInput(f"invalid webhook URL: {exc.detail}") from None
    if parsed.scheme != "https" and not allow_http:
        raise errors.InvalidInput(
            "a webhook URL must be https (plain http only with "
            "PROPYLON_OUTBOUND_ALLOW_PRIVATE_HOSTS=true, to an inside host)"
        )
    return url


def validate_description(text: str) -> str:
    if len(text) > 255 or UNSTORABLE.search(text):
        raise errors.InvalidInput("description: at most 255 storable characters")
    return text


def validate_types(types: list[str]) -> list[str]:
    if len(types) > MAX_TYPES:
        raise errors.InvalidInput(f"at most {MAX_TYPES} event types")
    for t in types:
        if not _TYPE.match(t) or len(t) > 100:
            raise errors.InvalidInput(f"invalid event type {t!r} (e.g. user.created, user.*)")
    return sorted(set(types))


def matches(types: list[str], event_type: str) -> bool:
    """Empty or ``*``: every type; ``user.*``: every type starting ``user.``."""
    if not types:
        return True
    for t in types:
        if t == "*" or t == event_type:
            return True
        if t.endswith(".*") and event_type.startswith(t[:-1]):
            return True
    return False


@dataclass(frozen=True)
class EndpointView:
    row: WebhookEndpoint

    def as_dict(self, now: datetime) -> dict[str, Any]:
        r = self.row
        rotating = r.previous_secret is not None and (
            r.previous_secret_expires_at is not None and r.previous_secret_expires_at > now
        )
        return {
            "id": r.id,
            "url": r.url,
            "tenant_id": r.tenant_id,
            "event_types": list(r.event_types.get("types", [])),
            "description": r.description,
            "previous_secret_expires_at": (
                rfc3339(r.previous_secret_expires_at)
                if rotating and r.previous_secret_expires_at
                else None
            ),
            "created_at": rfc3339(r.created_at),
            "updated_at": rfc3339(r.updated_at),
        }


def seal(box: SecretBox, endpoint_id: str, secret: str) -> str:
    return box.seal_text(secret, SECRET_PURPOSE, endpoint_id)


def reseal(box: SecretBox, endpoint_id: str, stored: str) -> str:
    """A stored secret sealed again under the box's first key (``propylon secrets rotate``)."""
    return box.reseal(stored, SECRET_PURPOSE, endpoint_id)


def signing_secrets(box: SecretBox, row: WebhookEndpoint, now: datetime) -> list[str]:
    """The secrets a message is signed with now: the current one, and the previous one
    while its grace period lasts."""
    out = [box.open_text(row.secret, SECRET_PURPOSE, row.id)]
    expires = row.previous_secret_expires_at
    if row.previous_secret and expires is not None and expires > now:
        out.append(box.open_text(row.previous_secret, SECRET_PURPOSE, row.id))
    return out


def new_endpoint(
    box: SecretBox,
    now: datetime,
    *,
    url: str,
    tenant_id: str | None,
    event_types: list[str],
    description: str,
) -> tuple[WebhookEndpoint, str]:
    """A new row and its secret in clear (shown once)."""
    endpoint_id = new_id(Kind.WEBHOOK_ENDPOINT)
    secret = signing.new_secret()
    row = WebhookEndpoint(
        id=endpoint_id,
        url=url,
        tenant_id=tenant_id,
        event_types={"types": event_types},
        description=description,
        secret=seal(box, endpoint_id, secret),
        previous_secret=None,
        previous_secret_expires_at=None,
        created_at=now,
        updated_at=now,
    )
    return row, secret


def rotate(box: SecretBox, row: WebhookEndpoint, now: datetime, grace_seconds: float) -> str:
    """A new current secret; the old one signs too for ``grace_seconds``."""
    secret = signing.new_secret()
    row.previous_secret = row.secret
    row.previous_secret_expires_at = now + timedelta(seconds=grace_seconds)
    row.secret = seal(box, row.id, secret)
    row.updated_at = now
    return secret


async def get(s: AsyncSession, endpoint_id: str, *, lock: bool = False) -> WebhookEndpoint:
    row = (
        await s.get(WebhookEndpoint, endpoint_id, with_for_update=lock)
        if plausible(endpoint_id)
        else None
    )
    if row is None:
        raise errors.NotFound(f"no webhook endpoint {endpoint_id!r}")
    return row


async def all_endpoints(s: AsyncSession) -> list[WebhookEndpoint]:
    rows = await s.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.created_at))
    return list(rows)
