"""Consumer mail domains: addresses anyone can get (gmail.com, outlook.com, ...). They are
nobody's organisation, so no tenant may add or claim one, else the first tenant to try would
route every user of that provider to its own SSO.

The list is package data (``tenants/data/consumer_mail_domains.txt``, its sources named in
its header). A line ``name.*`` stands for ``name`` under a top-level domain or a common
second-level one (``gmx.de``, ``gmx.net``, ``yahoo.co.uk``). A subdomain of a listed domain
is refused too.
"""

from __future__ import annotations

import functools
from importlib.resources import files

from propylon.errors import InvalidInput

_SECOND_LEVEL = frozenset({"co", "com", "net", "org", "ne", "or", "ac"})


@functools.cache
def _listed() -> tuple[frozenset[str], frozenset[str]]:
    """(exact domains, names listed as ``name.*``)."""
    text = files("propylon.tenants").joinpath("data/consumer_mail_domains.txt").read_text()
    exact, any_suffix = set(), set()
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip().lower()
        if line.endswith(".*"):
            any_suffix.add(line[:-2])
        elif line:
            exact.add(line)
    return frozenset(exact), frozenset(any_suffix)


def is_consumer_domain(domain: str) -> bool:
    """``domain`` (normalised: lowercase, no trailing dot) is, or is under, a listed one."""
    exact, any_suffix = _listed()
    labels = domain.split(".")
    for i in range(len(labels) - 1):
        rest = labels[i:]
        if ".".join(rest) in exact:
            return True
        suffix = rest[1:]
        if rest[0] in any_suffix and (
            len(suffix) == 1 or (len(suffix) == 2 and suffix[0] in _SECOND_LEVEL)
        ):
            return True
    return False


def refuse_consumer_domain(domain: str) -> None:
    if is_consumer_domain(domain):
        raise InvalidInput(
            f"{domain} is a consumer mail domain: it belongs to no organisation and "
            "cannot be added to a tenant"
        )
