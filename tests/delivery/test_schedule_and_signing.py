"""The retry schedule (exponential with jitter, at least three days by default, then the
dead letter) and Standard Webhooks signatures, checked against the reference package."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from propylon.delivery.backoff import RetrySchedule
from propylon.settings import Settings
from propylon.webhooks import signing
from propylon.webhooks.endpoints import matches


def test_default_schedule_retries_for_three_days_with_growing_jittered_delays() -> None:
    schedule = RetrySchedule.from_settings(Settings())
    start = datetime(2026, 1, 1, tzinfo=UTC)
    now, failures, delays = start, 0, []
    while True:
        failures += 1
        nxt = schedule.next_attempt(failures, start, now)
        if nxt is None:
            break
        delays.append((nxt - now).total_seconds())
        now = nxt
        assert failures < 1000
    assert now - start >= timedelta(days=3)
    assert delays[0] <= 5 and delays[1] <= 10 and max(delays) <= 3600
    for n in range(1, 8):
        ceiling = min(3600.0, 5.0 * 2 ** (n - 1))
        assert all(ceiling / 2 <= schedule.delay(n) <= ceiling for _ in range(50))


def test_signatures_verify_with_the_reference_package_for_each_valid_secret() -> None:
    old, new = signing.new_secret(), signing.new_secret()
    body = b'{"id":"evt_1","type":"user.created"}'
    ts = int(datetime.now(UTC).timestamp())
    headers = signing.headers([new, old], "evt_1", ts, body)
    for secret in (new, old):
        assert Webhook(secret).verify(body, headers)["id"] == "evt_1"
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(body + b" ", headers)


def test_event_type_filters_match_exact_types_prefixes_and_everything() -> None:
    assert matches([], "user.created") and matches(["*"], "grant.revoked")
    assert matches(["user.*"], "user.entitlements_changed")
    assert not matches(["user.*"], "group.created")
    assert matches(["group.deleted", "session.revoked"], "session.revoked")
