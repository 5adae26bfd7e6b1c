"""The shipped list of common and breached passwords (``data/common-passwords.txt.gz``: its
origin and licences are in ``data/README.md``), loaded once per process into a set."""

from __future__ import annotations

import functools
import gzip
from importlib.resources import files


@functools.cache
def common_passwords() -> frozenset[str]:
    raw = files("propylon.passwords").joinpath("data/common-passwords.txt.gz").read_bytes()
    return frozenset(w for w in gzip.decompress(raw).decode().split("\n") if w)


def is_common(normalised: str) -> bool:
    """Whether ``normalised`` (NFKC already), in lower case, is on the list."""
    return normalised.lower() in common_passwords()
