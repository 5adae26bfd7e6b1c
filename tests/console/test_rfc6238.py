"""``operators/rfc6238.py`` against RFC 6238 Appendix B (SHA-1 rows) and RFC 4226 Appendix D,
and its window and replay rule."""

from __future__ import annotations

from propylon.operators import rfc6238
from tests.console.helpers import reference_totp

SECRET = b"12345678901234567890"


def test_rfc4226_appendix_d() -> None:
    expected = ["755224", "287082", "359152", "969429", "338314", "254676", "287922"]
    assert [rfc6238.hotp(SECRET, c) for c in range(7)] == expected


def test_rfc6238_appendix_b_sha1() -> None:
    rows = {
        59: "94287082",
        1111111109: "07081804",
        1111111111: "14050471",
        1234567890: "89005924",
        2000000000: "69279037",
        20000000000: "65353130",
    }
    for t, code in rows.items():
        assert rfc6238.hotp(SECRET, rfc6238.step_at(t), digits=8) == code
        assert reference_totp(rfc6238.b32(SECRET), t, digits=8) == code


def test_one_step_either_side_and_never_twice() -> None:
    now = 1_700_000_000.0
    step = rfc6238.step_at(now)
    for offset in (-1, 0, 1):
        code = rfc6238.totp(SECRET, now + 30 * offset)
        assert rfc6238.verify(SECRET, code, now, None) == step + offset
    assert rfc6238.verify(SECRET, rfc6238.totp(SECRET, now + 60), now, None) is None
    assert rfc6238.verify(SECRET, rfc6238.totp(SECRET, now - 60), now, None) is None
    code = rfc6238.totp(SECRET, now)
    assert rfc6238.verify(SECRET, code, now, step) is None  # used already
    assert rfc6238.verify(SECRET, code, now, step + 1) is None  # a later one was used
    assert rfc6238.verify(SECRET, code, now, step - 1) == step
    for bad in ("", "12345", "1234567", "12345a", "١٢٣٤٥٦"):
        assert rfc6238.verify(SECRET, bad, now, None) is None


def test_otpauth_uri() -> None:
    uri = rfc6238.otpauth_uri("Acme console", "ops@acme.example", SECRET)
    assert uri.startswith("otpauth://totp/Acme%20console:ops@acme.example?secret=")
    assert f"secret={rfc6238.b32(SECRET)}" in uri and "issuer=Acme+console" in uri
