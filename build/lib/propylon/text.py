"""Text no store can hold: NUL and lone UTF-16 surrogates.

PostgreSQL ``text`` and ``jsonb`` refuse U+0000, and no UTF-8 encoder writes a surrogate code
point (RFC 3629 §3; RFC 8259 §8.2 calls such JSON strings' behaviour unpredictable), yet a
JSON ``\\u`` escape or a percent-encoded URL produces either. The edge refuses them before they
reach a query or a row.
"""

from __future__ import annotations

import re

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class UnstorableText(ValueError):
    """A string holding NUL or a lone surrogate."""


def check_text(value: str, what: str) -> None:
    """Raise :class:`UnstorableText` if ``value`` holds NUL or a lone surrogate."""
    bad = UNSTORABLE.search(value)
    if bad is not None:
        raise UnstorableText(f"{what} contains U+{ord(bad.group()):04X}, which is not allowed")
