"""What a new password must be: NIST SP 800-63B §5.1.1.2 (memorized secret verifiers).

At least ``min_length`` characters, at most ``max_length`` (the standard asks to allow at
least 64; the bound limits hashing work); every printable character and space allowed, no
composition rules; Unicode normalised with NFKC before counting, hashing and comparing
(§5.1.1.2: "the verifier SHOULD apply the Normalization Process for Stabilized Strings using
either the NFKC or NFKD normalization"); refused when on the list of commonly used or
breached passwords (:mod:`propylon.passwords.common`)."""

from __future__ import annotations

import unicodedata

from propylon.passwords.common import is_common


class PasswordRefused(ValueError):
    """A password the rules refuse; ``str()`` is the message a person sees."""


def normalise(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def check_new_password(password: str, *, min_length: int, max_length: int) -> str:
    """The normalised password, or :class:`PasswordRefused`."""
    if len(password) > 4 * max_length:  # bound the normalisation itself
        raise PasswordRefused(f"Use at most {max_length} characters.")
    value = normalise(password)
    if "\0" in value:
        raise PasswordRefused("The password contains a character that cannot be used.")
    if len(value) < min_length:
        raise PasswordRefused(f"Use at least {min_length} characters.")
    if len(value) > max_length:
        raise PasswordRefused(f"Use at most {max_length} characters.")
    if is_common(value):
        raise PasswordRefused(
            "This password is too common: it appears in lists of leaked passwords. "
            "Choose another one, for example a few unrelated words."
        )
    return value
