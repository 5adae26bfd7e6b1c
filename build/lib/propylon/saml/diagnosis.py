"""Facts about a refusal that let an administrator fix the set-up (never used to decide).

They go into :attr:`propylon.saml.SamlValidationError.details`: the times and the clock
difference of a validity window, and for a refused signature its algorithms and the
SHA-256 fingerprints of the certificates tried (the pinned ones) and presented (the
message's ``ds:KeyInfo``, which is never used to verify: SAML Core §5.4.5 leaves the key
to the relying party's trust, here the connection's pinned certificates).
"""

from __future__ import annotations

import binascii
import hashlib
from datetime import datetime, timedelta
from typing import Final

from cryptography.hazmat.primitives import hashes
from lxml import etree

from .errors import Detail
from .model import IdpTrust
from .xml import DS, b64decode_strict

__all__ = ["fingerprint", "signature_facts", "signature_facts_tried", "time_facts"]

_ALGORITHMS: Final = {
    "canonicalization": f"{{{DS}}}SignedInfo/{{{DS}}}CanonicalizationMethod",
    "signature_algorithm": f"{{{DS}}}SignedInfo/{{{DS}}}SignatureMethod",
    "digest_algorithm": f"{{{DS}}}SignedInfo/{{{DS}}}Reference/{{{DS}}}DigestMethod",
}
_TRANSFORMS: Final = f"{{{DS}}}SignedInfo/{{{DS}}}Reference/{{{DS}}}Transforms/{{{DS}}}Transform"
_CERTIFICATES: Final = f"{{{DS}}}KeyInfo/{{{DS}}}X509Data/{{{DS}}}X509Certificate"


def fingerprint(digest: bytes) -> str:
    """``AB:CD:…``, as ``openssl x509 -fingerprint -sha256`` prints it."""
    return ":".join(f"{b:02X}" for b in digest)


def time_facts(
    name: str, limit: datetime, now: datetime, skew: timedelta
) -> dict[str, Detail | None]:
    """A validity bound ``name`` against the SP's clock: how far apart they are."""
    return {
        name: limit.isoformat(),
        "now": now.isoformat(),
        "clock_difference_seconds": int((now - limit).total_seconds()),
        "allowed_skew_seconds": int(skew.total_seconds()),
    }


def _local(tag: object) -> str:
    return str(tag).rpartition("}")[2]


def signature_facts(sig: etree._Element, trust: IdpTrust) -> dict[str, Detail | None]:
    """What the refused signature ``sig`` says of itself, and the pinned certificates."""
    facts: dict[str, Detail | None] = {}
    parent = sig.getparent()
    facts["signed_element"] = _local(parent.tag) if parent is not None else None
    for key, path in _ALGORITHMS.items():
        el = sig.find(path)
        facts[key] = el.get("Algorithm") if el is not None else None
    facts["transforms"] = [t.get("Algorithm") or "" for t in sig.iterfind(_TRANSFORMS)]
    presented = []
    for cert in sig.iterfind(_CERTIFICATES):
        try:
            der = b64decode_strict("".join((cert.text or "").split()))
        except (binascii.Error, ValueError):
            presented.append("unreadable")
            continue
        presented.append(fingerprint(hashlib.sha256(der).digest()))
    facts["certificates_presented"] = presented
    facts["certificates_tried"] = signature_facts_tried(trust)
    return facts


def signature_facts_tried(trust: IdpTrust) -> list[str]:
    """The SHA-256 fingerprints of the connection's pinned certificates."""
    return [fingerprint(c.fingerprint(hashes.SHA256())) for c in trust.certificates]
