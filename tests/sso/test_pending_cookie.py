"""The sealed cookie a pending SAML login lives in: it opens only for the RelayState it was
sealed for, under the secret it was sealed with, unchanged; an overlong login is refused at
the start rather than dropped by the browser. The secret it derives from is the operator's,
or one random file, owner-only, that every worker of the data directory reads."""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from propylon.runtime import build_runtime
from propylon.sessions.pending_cookie import (
    MAX_COOKIE_BYTES,
    CookieTooLarge,
    PendingLogin,
    PendingLoginSeal,
    cookie_name,
    new_relay_state,
)
from propylon.settings import Settings

NOW = datetime(2026, 12, 5, 1, 2, 3, 456789, tzinfo=UTC)
LOGIN = PendingLogin(
    request_id="_" + "a" * 40,
    connection_id="conn_1",
    return_to="/oauth2/authorize?client_id=c&state=s",
    force_authn=True,
    created_at=NOW,
    expires_at=NOW + timedelta(minutes=10),
)


def test_a_sealed_login_opens_only_unchanged_for_its_relay_state_and_secret() -> None:
    secret = secrets.token_bytes(32)
    seal = PendingLoginSeal(lambda: [secret])
    relay = new_relay_state()
    value = seal.seal(relay, LOGIN)
    assert seal.open(relay, value) == LOGIN
    assert LOGIN.return_to.encode() not in value.encode()  # encrypted, not only signed
    assert seal.open(new_relay_state(), value) is None  # moved to another login
    assert PendingLoginSeal(lambda: [secrets.token_bytes(32)]).open(relay, value) is None
    raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    for i in (0, len(raw) // 2, len(raw) - 1):  # the nonce, the ciphertext, the tag
        flipped = raw[:i] + bytes([raw[i] ^ 1]) + raw[i + 1 :]
        assert seal.open(relay, base64.urlsafe_b64encode(flipped).decode()) is None
    for junk in ("", "é", "A" * 20, "!!", "A" * (MAX_COOKIE_BYTES + 1)):
        assert seal.open(relay, junk) is None


def test_only_relay_states_of_ours_name_a_cookie() -> None:
    relay = new_relay_state()
    assert cookie_name(relay) == "propylon_login_" + relay
    for foreign in (None, "", "https://app.example.com/", relay + "x", "a;b" + relay[3:]):
        assert cookie_name(foreign) is None


def test_a_login_sealed_before_a_secret_key_rotation_still_opens() -> None:
    old, new = secrets.token_bytes(32), secrets.token_bytes(32)
    relay = new_relay_state()
    value = PendingLoginSeal(lambda: [old]).seal(relay, LOGIN)
    rotated = PendingLoginSeal(lambda: [new, old])  # the new key seals, both open
    assert rotated.open(relay, value) == LOGIN
    assert PendingLoginSeal(lambda: [old]).open(relay, rotated.seal(relay, LOGIN)) is None


def test_a_login_too_long_for_a_cookie_is_refused() -> None:
    seal = PendingLoginSeal(lambda: [b"k" * 32])
    huge = LOGIN.return_to + "&x=" + secrets.token_urlsafe(4000)
    with pytest.raises(CookieTooLarge):
        seal.seal(new_relay_state(), PendingLogin(**{**LOGIN.__dict__, "return_to": huge}))


async def test_the_cookie_key_derives_from_the_secret_key_every_process_shares(
    tmp_path: Path,
) -> None:
    """Two processes over one data directory open each other's pending logins (the key is
    a subkey of the at-rest secret key); a process with another secret key cannot."""
    settings = Settings(data_dir=tmp_path / "data")
    first, second = build_runtime(settings), build_runtime(settings)
    other = build_runtime(
        Settings(data_dir=tmp_path / "other", secret_key=base64.b64encode(b"o" * 32).decode())
    )
    try:
        relay = new_relay_state()
        sealed = first.pending_logins.seal(relay, LOGIN)
        assert second.pending_logins.open(relay, sealed) == LOGIN
        assert other.pending_logins.open(relay, sealed) is None
    finally:
        for rt in (first, second, other):
            await rt.close()
