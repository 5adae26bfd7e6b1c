"""``seal_expiring`` / ``open_expiring`` (crypto/secretbox.py), which the console's two-step
sign-in cookie and its SSO cookie use: a value opens only for its purpose, before its expiry,
untampered, and under a configured key."""

from __future__ import annotations

import pytest

from propylon.crypto.secretbox import (
    SecretBox,
    SecretBoxError,
    new_key_text,
    open_expiring,
    parse_key,
    seal_expiring,
)


def _box() -> SecretBox:
    return SecretBox([parse_key(new_key_text())])


def test_opens_for_its_purpose_until_it_expires() -> None:
    box = _box()
    sealed = seal_expiring(box, b"payload", "console-mfa", 1_000)
    assert open_expiring(box, sealed, "console-mfa", 999.5) == b"payload"
    for now in (1_000, 1_001):
        with pytest.raises(SecretBoxError, match="expired"):
            open_expiring(box, sealed, "console-mfa", now)
    with pytest.raises(SecretBoxError):
        open_expiring(box, sealed, "console-sso", 0)


def test_refuses_tampered_foreign_plain_and_oversized_values() -> None:
    box = _box()
    sealed = seal_expiring(box, b"payload", "p", 2_000)
    body = sealed.rsplit(".", 1)
    flipped = body[0] + "." + ("A" if body[1][0] != "A" else "B") + body[1][1:]
    for bad in (
        flipped,
        seal_expiring(_box(), b"payload", "p", 2_000),  # another key
        box.seal(b"payload", "p", ""),  # sealed, but not an expiring value of this purpose
        box.seal(b"", "p", "expiring"),  # too short to carry an expiry
        "",
        "not sealed",
        "sb1.x." + "A" * 5000,
    ):
        with pytest.raises(SecretBoxError):
            open_expiring(box, bad, "p", 0)
    with pytest.raises(ValueError):
        seal_expiring(box, b"x", "p", 0)
