"""Standard Webhooks verification, checked against the reference package (``standardwebhooks``
from PyPI) both ways: what it signs the SDK accepts, what the SDK signs it accepts."""

from __future__ import annotations

import base64
import json
import secrets
import time
from datetime import UTC, datetime

import pytest
import standardwebhooks

from propylon.sdk import Webhook, WebhookVerificationError


def _secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


BODY = json.dumps({"id": "evt_1", "seq": 7, "type": "user.updated", "data": {}}).encode()


def _headers(secret: str, msg_id: str = "evt_1", ts: int | None = None) -> dict[str, str]:
    stamp = ts if ts is not None else int(time.time())
    ref = standardwebhooks.Webhook(secret)
    sig = ref.sign(msg_id, datetime.fromtimestamp(stamp, UTC), BODY.decode())
    return {"Webhook-Id": msg_id, "Webhook-Timestamp": str(stamp), "Webhook-Signature": sig}


def test_a_delivery_signed_by_the_reference_implementation_verifies() -> None:
    secret = _secret()
    assert Webhook(secret).verify(BODY, _headers(secret))["seq"] == 7


def test_what_the_sdk_signs_verifies_with_the_reference_implementation() -> None:
    secret = _secret()
    ts = int(time.time())
    sig = Webhook(secret).sign("evt_2", ts, BODY)
    headers = {"webhook-id": "evt_2", "webhook-timestamp": str(ts), "webhook-signature": sig}
    assert standardwebhooks.Webhook(secret).verify(BODY, headers)["seq"] == 7


def test_during_a_rotation_either_secret_verifies_and_both_signatures_may_be_sent() -> None:
    old, new = _secret(), _secret()
    h_old, h_new = _headers(old), _headers(new)
    both = {
        **h_new,
        "Webhook-Signature": h_old["Webhook-Signature"] + " " + h_new["Webhook-Signature"],
    }
    assert Webhook(new).verify(BODY, both)["id"] == "evt_1"
    assert Webhook(old).verify(BODY, both)["id"] == "evt_1"
    assert Webhook(new, old).verify(BODY, h_old)["id"] == "evt_1"
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(BODY, h_old)


def test_tampering_a_foreign_secret_or_an_old_timestamp_are_refused() -> None:
    secret = _secret()
    h = _headers(secret)
    for body, headers in [
        (BODY.replace(b"7", b"8"), h),
        (BODY, {**h, "Webhook-Id": "evt_other"}),
        (BODY, _headers(_secret())),
        (BODY, _headers(secret, ts=int(time.time()) - 600)),
        (BODY, _headers(secret, ts=int(time.time()) + 600)),
        (BODY, {k: v for k, v in h.items() if k != "Webhook-Signature"}),
        (BODY, {**h, "Webhook-Signature": h["Webhook-Signature"].replace("v1,", "v2,")}),
    ]:
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(body, headers)
