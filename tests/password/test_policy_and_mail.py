"""The shipped common-password list and the NIST SP 800-63B checks, and the embedded mailer:
the whole message in an owner-only file, only recipient and subject in the log."""

from __future__ import annotations

import stat
import unicodedata
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from propylon.mail import FileMailer, OutgoingMail, build_message
from propylon.passwords.common import common_passwords
from propylon.passwords.sp800_63b import PasswordRefused, check_new_password
from propylon.passwords.store import normalise_email


def test_the_list_is_large_normalised_and_holds_the_well_known_ones() -> None:
    words = common_passwords()
    assert len(words) > 50_000
    assert {"123456", "password", "qwerty123", "iloveyou", "trustno1"} <= words
    assert all(w == unicodedata.normalize("NFKC", w).lower() for w in words)


@pytest.mark.parametrize("password", ["PASSWORD1", "Qwerty123", "iloveyou1", "sunshine"])
def test_common_passwords_are_refused_whatever_their_case(password: str) -> None:
    with pytest.raises(PasswordRefused, match="too common"):
        check_new_password(password, min_length=8, max_length=256)


def test_no_composition_rules_and_nfkc_normalisation() -> None:
    assert check_new_password("all lower case words", min_length=8, max_length=256)
    # "ﬁ" (U+FB01) is "fi" under NFKC: both spell the same password
    assert check_new_password("ﬁne tuning x", min_length=8, max_length=256) == "fine tuning x"
    with pytest.raises(PasswordRefused, match="at least 8"):
        check_new_password("ﬁ" * 3, min_length=8, max_length=256)


async def test_the_file_mailer_keeps_the_link_out_of_the_log(tmp_path: Path) -> None:
    link = "http://127.0.0.1/password/verify?token=SECRET-TOKEN"
    message = build_message(
        OutgoingMail("ada@example.org", "Confirm", f"Go: {link}"), "P <p@x.test>"
    )
    with capture_logs() as logs:
        await FileMailer(tmp_path / "mail").send(message)
    [written] = (tmp_path / "mail").glob("*.eml")
    assert link in written.read_text()
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert logs and all("SECRET-TOKEN" not in repr(entry) for entry in logs)
    assert logs[0]["to"] == "ada@example.org" and logs[0]["subject"] == "Confirm"


def test_a_header_with_a_line_break_is_refused() -> None:
    with pytest.raises(ValueError, match="line break"):
        build_message(OutgoingMail("a@example.org\r\nBcc: b@example.org", "s", "b"), "p@x.test")


@pytest.mark.parametrize(
    "address",
    [
        "attacker@evil.example(@corp.example",  # a comment: mail goes to evil, tenant is corp
        "a@evil.example;b@corp.example",  # a group separator
        "attacker@evil.example,ceo@corp.example",  # two recipients
        '"a@corp.example"@evil.example',  # a quoted local part
        "ceo@corp.example.",  # a trailing dot routes elsewhere than the page does
        "a@b@corp.example",
        "x@localhost",
        "a" * 250 + "@corp.example",  # longer than an SMTP path (and the user name column)
    ],
)
def test_only_one_plain_mailbox_is_an_address(address: str) -> None:
    """The tenant is picked by the address's domain and the link mailed to it: an address a
    mail library could read as another mailbox, or several, is refused at the door."""
    assert normalise_email(address) is None


def test_a_plain_address_is_kept_lower_case() -> None:
    assert normalise_email("  Ada.Lovelace+x@Corp-1.Example.co.uk ") == (
        "ada.lovelace+x@corp-1.example.co.uk"
    )
