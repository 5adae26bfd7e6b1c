"""Proof of control of a domain in DNS: a TXT record at a name only the domain's owner can
publish under (``_propylon-challenge.DOMAIN``, an underscored name per RFC 8552 so it never
collides with a host name), whose value carries a random token Propylon issued
(``propylon-domain-verification=…``, the shape of the ACME ``dns-01`` challenge, RFC 8555
§8.4, and of the common SaaS domain-verification records).

:func:`lookup_txt` asks with dnspython's asynchronous resolver, bounded in time
(``dns_timeout_seconds``), through the system's resolvers or those ``dns_nameservers``
names (a private DNS, or the tests' own server on loopback). :func:`proof_outcome` tells a
definitive absence (NXDOMAIN, no TXT record, no record with the value) from a failure to ask
(timeout, SERVFAIL): only the former lapses a verified domain.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.resolver

CHALLENGE_LABEL = "_propylon-challenge"
VALUE_PREFIX = "propylon-domain-verification="
TOKEN_BYTES = 24
MAX_TXT_RECORDS = 64
"""Records beyond this many at the challenge name are not read (bounded work)."""

VERIFIED = "verified"
RECORD_MISSING = "record_missing"
VALUE_MISMATCH = "value_mismatch"
DNS_ERROR = "dns_error"


@dataclass(frozen=True)
class Challenge:
    """The TXT record that proves control of ``domain``."""

    domain: str
    record_name: str
    record_value: str

    def as_dict(self) -> dict[str, str]:
        return {
            "domain": self.domain,
            "record_type": "TXT",
            "record_name": self.record_name,
            "record_value": self.record_value,
        }


def new_verification_value() -> str:
    """A fresh record value (192 random bits)."""
    return VALUE_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def challenge_for(domain: str, value: str) -> Challenge:
    return Challenge(domain, f"{CHALLENGE_LABEL}.{domain}", value)


def parse_nameservers(spec: str) -> list[dns.nameserver.Nameserver]:
    """``"10.0.0.53, 127.0.0.1:5353, [::1]:5353"`` → nameservers (port 53 unless given)."""
    out: list[dns.nameserver.Nameserver] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        if part.startswith("["):
            host, _, rest = part[1:].partition("]")
            port = int(rest[1:]) if rest.startswith(":") else 53
        elif part.count(":") == 1:
            host, port_text = part.split(":")
            port = int(port_text)
        else:
            host, port = part, 53
        out.append(dns.nameserver.Do53Nameserver(host, port))
    return out


@dataclass(frozen=True)
class TxtAnswer:
    """The TXT strings at a name (``values``), or why there are none: ``absent`` (NXDOMAIN
    or no TXT record: a definitive answer) or ``error`` (no answer could be had)."""

    values: tuple[str, ...] = ()
    absent: bool = False
    error: str | None = None


async def lookup_txt(name: str, nameservers: str, timeout_seconds: float) -> TxtAnswer:
    """The TXT records at ``name`` (each record's strings joined, RFC 7208 §3.3 style), asked
    of ``nameservers`` (empty: the system's resolvers) within ``timeout_seconds`` overall."""
    resolver = dns.asyncresolver.Resolver(configure=not nameservers)
    if nameservers:
        resolver.nameservers = parse_nameservers(nameservers)
    resolver.lifetime = timeout_seconds
    resolver.timeout = min(timeout_seconds, 2.0)
    try:
        answer = await resolver.resolve(name, "TXT", search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return TxtAnswer(absent=True)
    except (dns.exception.Timeout, dns.resolver.LifetimeTimeout):
        return TxtAnswer(error="timeout")
    except (dns.resolver.NoNameservers, dns.resolver.YXDOMAIN, dns.exception.DNSException) as exc:
        return TxtAnswer(error=type(exc).__name__)
    values = []
    for rdata in list(answer)[:MAX_TXT_RECORDS]:
        strings = getattr(rdata, "strings", ())
        values.append(b"".join(strings).decode("utf-8", "replace"))
    return TxtAnswer(tuple(values))


def proof_outcome(answer: TxtAnswer, expected: str) -> str:
    """:data:`VERIFIED`, :data:`RECORD_MISSING`, :data:`VALUE_MISMATCH` or :data:`DNS_ERROR`;
    the value is compared whole and in constant time."""
    if answer.error is not None:
        return DNS_ERROR
    if answer.absent or not answer.values:
        return RECORD_MISSING
    want = expected.encode()
    if any(secrets.compare_digest(v.strip().encode(), want) for v in answer.values):
        return VERIFIED
    return VALUE_MISMATCH
