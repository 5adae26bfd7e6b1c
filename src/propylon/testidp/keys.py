"""The test IdP's keys: RSA 2048 (so RSA-SHA256 and the SHA-1 scenario both work), made by
``cryptography`` the first time the test IdP is used in an installation and stored in
``test_idp_keys`` with the private key sealed (``crypto/secretbox``), so every process of the
installation signs with the same key and a secret-key rotation re-seals it
(``admin/secrets.py``). The certificate says what it is: its subject is "Propylon TEST IdP -
NOT FOR PRODUCTION".

The ``wrong_key`` scenario's key is in no metadata and no JWK Set: it is made fresh in each
process and never stored.

These keys sign assertions for anyone who asks (a test IdP lets a person pick who they are):
never trust them outside a test.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from propylon.crypto.secretbox import SecretBox
from propylon.db.engine import Database
from propylon.db.tables import core
from propylon.db.tables_testidp import TestIdpKey

__all__ = ["PURPOSE", "SUBJECT", "KeyPair", "TestIdpKeyCache", "TestIdpKeys", "make_keypair"]

SUBJECT: Final = "Propylon TEST IdP - NOT FOR PRODUCTION"
PURPOSE: Final = "test-idp-key"
"""The secret box purpose of the stored private keys (the row is the key's purpose)."""
_STORED: Final = ("saml", "oidc")
_VALIDITY: Final = dt.timedelta(days=3650)


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

    @property
    def private_key_pem(self) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()


@dataclass(frozen=True)
class TestIdpKeys:
    """``saml``: signs Responses (in the metadata); ``wrong``: the ``wrong_key`` scenario's
    key (in no metadata); ``oidc``: signs ID tokens (in the JWK Set)."""

    __test__ = False
    saml: KeyPair
    wrong: KeyPair
    oidc: KeyPair


def make_keypair(label: str, now: dt.datetime) -> KeyPair:
    """A new RSA 2048 key and a self-signed certificate naming it a test key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, SUBJECT),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Propylon"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, label),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(int.from_bytes(secrets.token_bytes(16)) >> 1 | 1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return KeyPair(key, certificate)


def _opened(box: SecretBox, row: TestIdpKey) -> KeyPair:
    pem = box.open_text(row.private_key_pem, PURPOSE, row.purpose).encode()
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"test IdP key {row.purpose!r} is not RSA")
    return KeyPair(key, x509.load_pem_x509_certificate(row.certificate_pem.encode()))


async def _stored(db: Database, box: SecretBox, now: dt.datetime) -> dict[str, KeyPair]:
    """The stored keys, making (off the event loop) and inserting the missing ones first.
    Processes starting together may both make one: the first insert wins
    (``ON CONFLICT DO NOTHING``) and every process reads the winner."""
    async with db.read() as s:
        rows = (await s.scalars(select(TestIdpKey))).all()
    missing = [p for p in _STORED if p not in {r.purpose for r in rows}]
    if missing:
        made = [await asyncio.to_thread(make_keypair, p, now) for p in missing]
        values = [
            {
                "purpose": purpose,
                "private_key_pem": box.seal_text(pair.private_key_pem, PURPOSE, purpose),
                "certificate_pem": pair.certificate_pem,
                "created_at": now,
            }
            for purpose, pair in zip(missing, made, strict=True)
        ]
        async with db.write() as s:
            dialect = (await s.connection()).dialect.name
            insert = pg_insert if dialect == "postgresql" else sqlite_insert
            statement = insert(core(TestIdpKey)).on_conflict_do_nothing(
                index_elements=["purpose"]
            )
            await s.execute(statement, values)
        async with db.read() as s:
            rows = (await s.scalars(select(TestIdpKey))).all()
    return {r.purpose: _opened(box, r) for r in rows}


class TestIdpKeyCache:
    """The installation's test IdP keys, read (or made) once per process."""

    __test__ = False

    def __init__(self, db: Database, box: SecretBox) -> None:
        self._db = db
        self._box = box
        self._keys: TestIdpKeys | None = None
        self._lock = asyncio.Lock()

    async def get(self, now: dt.datetime) -> TestIdpKeys:
        if self._keys is None:
            async with self._lock:
                if self._keys is None:
                    stored = await _stored(self._db, self._box, now)
                    wrong = await asyncio.to_thread(make_keypair, "wrong-key", now)
                    self._keys = TestIdpKeys(stored["saml"], wrong, stored["oidc"])
        return self._keys

    def forget(self) -> None:
        """Read the keys again at next use (after a secret-key rotation re-sealed them)."""
        self._keys = None
