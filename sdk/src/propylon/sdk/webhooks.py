"""Standard Webhooks verification (https://www.standardwebhooks.com, spec "Verifying webhook
authenticity"): ``webhook-signature`` holds space-separated ``v1,<base64 HMAC-SHA256>``
signatures of ``{webhook-id}.{webhook-timestamp}.{body}`` under the endpoint's secret
(``whsec_`` + base64 key); the timestamp must be within ``tolerance`` seconds of now (replay
window). During a secret rotation Propylon signs with both secrets: one match is enough."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from propylon.sdk.errors import WebhookVerificationError

PREFIX = "whsec_"


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix(PREFIX), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("a webhook secret is whsec_ followed by base64") from exc


class Webhook:
    """Verifies deliveries for one endpoint; several secrets accepted (old and new)."""

    def __init__(self, *secrets: str, tolerance: int = 300) -> None:
        if not secrets:
            raise ValueError("at least one secret")
        self._keys = [_key(s) for s in secrets]
        self.tolerance = tolerance

    def sign(self, msg_id: str, timestamp: int, body: bytes) -> str:
        """The ``webhook-signature`` value the first secret gives (tests, replays)."""
        mac = hmac.new(self._keys[0], f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
        return "v1," + base64.b64encode(mac.digest()).decode()

    def verify(self, body: bytes | str, headers: Mapping[str, str]) -> dict[str, Any]:
        """The event envelope of a genuine delivery, or :class:`WebhookVerificationError`.
        ``headers`` is looked up case-insensitively."""
        raw = body.encode() if isinstance(body, str) else body
        lower = {k.lower(): v for k, v in headers.items()}
        msg_id = lower.get("webhook-id")
        stamp = lower.get("webhook-timestamp")
        signatures = lower.get("webhook-signature")
        if not msg_id or not stamp or not signatures:
            raise WebhookVerificationError("missing webhook-id, -timestamp or -signature")
        try:
            ts = int(stamp)
        except ValueError:
            raise WebhookVerificationError("invalid webhook-timestamp") from None
        if abs(time.time() - ts) > self.tolerance:
            raise WebhookVerificationError("webhook-timestamp outside the tolerance")
        signed = f"{msg_id}.{ts}.".encode() + raw
        expected = [
            base64.b64encode(hmac.new(k, signed, hashlib.sha256).digest()) for k in self._keys
        ]
        for candidate in signatures.split(" "):
            version, _, sig = candidate.partition(",")
            if version != "v1":
                continue
            if any(hmac.compare_digest(sig.encode(), e) for e in expected):
                try:
                    envelope = json.loads(raw)
                except ValueError:
                    raise WebhookVerificationError("body is not JSON") from None
                if not isinstance(envelope, dict):
                    raise WebhookVerificationError("body is not an object")
                return envelope
        raise WebhookVerificationError("no matching signature")
