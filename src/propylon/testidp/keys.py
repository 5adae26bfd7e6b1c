"""The test IdP's keys: RSA 2048, derived from the installation's secret key.

Every process of an installation derives the same keys from the same
``PROPYLON_SECRET_KEY`` (an HKDF subkey per purpose, :meth:`SecretBox.subkey`), so nothing is
stored and nothing is written when a key is first needed: the primes are searched with an
HMAC-SHA256 stream (a deterministic random bit generator in counter mode, as NIST SP 800-108
builds keys) and tested with Miller-Rabin (FIPS 186-5 B.3.1: 2^-100 error bound for 1024-bit
candidates with far fewer rounds than the 64 used here). The certificate is deterministic too
(fixed serial and dates, PKCS#1 v1.5 signature), and says what it is: its subject is
"Propylon TEST IdP - NOT FOR PRODUCTION".

These keys sign assertions for anyone who asks (a test IdP lets a person pick who they are):
never trust them outside a test. The keys change when the first secret key changes.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from math import gcd
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from propylon.crypto.secretbox import SecretBox

__all__ = ["SUBJECT", "KeyPair", "TestIdpKeys", "derive_keypair", "keys_of"]

SUBJECT: Final = "Propylon TEST IdP - NOT FOR PRODUCTION"
PUBLIC_EXPONENT: Final = 65537
_MR_ROUNDS: Final = 64
_SMALL_PRIMES: Final = tuple(
    p for p in range(3, 2000, 2) if all(p % d for d in range(3, int(p**0.5) + 1, 2))
)
_NOT_BEFORE: Final = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
_NOT_AFTER: Final = dt.datetime(2045, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class KeyPair:
    """An RSA private key and its self-signed certificate."""

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def certificate_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def certificate_der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)


@dataclass(frozen=True)
class TestIdpKeys:
    """``saml``: signs Responses (in the metadata); ``wrong``: the ``wrong_key`` scenario's
    key (in no metadata); ``oidc``: signs ID tokens (in the JWK Set)."""

    saml: KeyPair
    wrong: KeyPair
    oidc: KeyPair


def _stream(seed: bytes, label: str) -> Iterator[bytes]:
    counter = 0
    while True:
        counter += 1
        yield hmac.new(seed, f"{label}/{counter}".encode(), hashlib.sha256).digest()


def _take(stream: Iterator[bytes], nbytes: int) -> int:
    out = b""
    while len(out) < nbytes:
        out += next(stream)
    return int.from_bytes(out[:nbytes], "big")


def _probably_prime(n: int, stream: Iterator[bytes]) -> bool:
    """Miller-Rabin (FIPS 186-5 B.3.1) with bases from ``stream``."""
    if any(n % p == 0 for p in _SMALL_PRIMES):
        return False
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(_MR_ROUNDS):
        a = 2 + _take(stream, 128) % (n - 3)
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(stream: Iterator[bytes], bits: int) -> int:
    while True:
        candidate = _take(stream, bits // 8) | (0b11 << (bits - 2)) | 1
        if gcd(candidate - 1, PUBLIC_EXPONENT) != 1:
            continue
        if _probably_prime(candidate, stream):
            return candidate


@functools.lru_cache(maxsize=16)
def derive_keypair(seed: bytes, label: str, bits: int = 2048) -> KeyPair:
    """The RSA key pair ``seed`` and ``label`` determine, with its certificate."""
    stream = _stream(seed, label)
    p = _prime(stream, bits // 2)
    q = _prime(stream, bits // 2)
    while q == p:
        q = _prime(stream, bits // 2)
    p, q = max(p, q), min(p, q)
    d = pow(PUBLIC_EXPONENT, -1, (p - 1) * (q - 1) // gcd(p - 1, q - 1))
    key = rsa.RSAPrivateNumbers(
        p,
        q,
        d,
        rsa.rsa_crt_dmp1(d, p),
        rsa.rsa_crt_dmq1(d, q),
        rsa.rsa_crt_iqmp(p, q),
        rsa.RSAPublicNumbers(PUBLIC_EXPONENT, p * q),
    ).private_key()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, SUBJECT),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Propylon"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, label),
        ]
    )
    serial = _take(_stream(seed, f"{label}/serial"), 16) >> 1 | 1
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(_NOT_BEFORE)
        .not_valid_after(_NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return KeyPair(key, certificate)


def keys_of(box: SecretBox) -> TestIdpKeys:
    """The installation's test IdP keys (computed once per process and secret)."""
    return TestIdpKeys(
        saml=derive_keypair(box.subkey("test-idp/saml-signing"), "saml"),
        wrong=derive_keypair(box.subkey("test-idp/wrong-key"), "wrong-key"),
        oidc=derive_keypair(box.subkey("test-idp/oidc-signing"), "oidc"),
    )
