"""Sealing secrets at rest: AES-256-GCM under a key-encryption key (KEK) from settings.

What Propylon stores and must not reveal to whoever copies the database or a backup (token
signing keys, SAML SP private keys, an upstream IdP's client secret) is stored *sealed*::

    sb1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>

* AES-256-GCM (NIST SP 800-38D) with a random 96-bit nonce per value (§8.2.2: at most 2^32
  values per key with random nonces, far above what a deployment stores);
* the key that encrypts is derived from the KEK with HKDF-SHA256 (RFC 5869), so the KEK itself
  never keys a cipher and :meth:`SecretBox.subkey` can derive independent keys for other
  purposes (a cookie's key, say) from the same setting;
* the associated data binds the ciphertext to its version, key id, *purpose* and *row*
  (``signing-key`` / the kid, ``saml-sp-key`` / the connection id, ...): a sealed value copied
  into another row, or used for another purpose, does not open.

Rotation: several KEKs may be configured; the first seals, every one opens
(:meth:`SecretBox.needs_reseal` says which stored values to re-encrypt, ``propylon secrets
rotate`` does it). The key id in a sealed value is a short SHA-256 fingerprint of the derived
key, so an operator can see which KEK a value needs without any key being revealed.

Nothing here logs, and no exception message or ``repr`` carries key material or plaintext.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = "sb1"
KEY_BYTES = 32
NONCE_BYTES = 12
_SEAL_INFO = b"propylon/secretbox/v1"
_SUBKEY_INFO = b"propylon/subkey/"

# purposes: what a sealed value is, bound into its associated data
SIGNING_KEY = "signing-key"
"""A token signing key (private JWK); the row is its ``kid``."""
SAML_SP_KEY = "saml-sp-key"
"""A SAML connection's SP private key (PEM); the row is the connection id."""
CLIENT_SECRET = "client-secret"
"""A client secret Propylon must present to someone else (an upstream IdP); the row is the
record that holds it."""
OIDC_CLIENT_KEY = "oidc-client-key"
"""The private key (PEM) an OIDC connection signs ``private_key_jwt`` client assertions
with; the row is the connection id."""


class SecretBoxError(Exception):
    """A sealed value cannot be opened: its key is not configured, or it was altered, moved to
    another row or purpose. The message names the key id at most, never key material."""


def _derive(kek: bytes, info: bytes, length: int = KEY_BYTES) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(kek)


def parse_key(text: str) -> bytes:
    """One KEK from its base64 or base64url text (padding optional); exactly 32 bytes."""
    cleaned = text.strip().replace("+", "-").replace("/", "_").rstrip("=")
    try:
        raw = base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("a secret key must be base64 (or base64url) text") from None
    if len(raw) != KEY_BYTES:
        raise ValueError(f"a secret key must be {KEY_BYTES} bytes, base64-encoded")
    return raw


def parse_keys(spec: str) -> list[bytes]:
    """``"KEY1,KEY2"`` → KEKs, the first one sealing."""
    return [parse_key(part) for part in spec.split(",") if part.strip()]


def new_key_text() -> str:
    """A fresh random KEK as base64url text (what ``PROPYLON_SECRET_KEY`` takes)."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode().rstrip("=")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class _Key:
    __slots__ = ("aead", "id", "kek")

    def __init__(self, kek: bytes) -> None:
        derived = _derive(kek, _SEAL_INFO)
        self.kek = kek
        self.id = hashlib.sha256(b"propylon key id:" + derived).hexdigest()[:12]
        self.aead = AESGCM(derived)


class SecretBox:
    """Seals and opens secrets at rest under the configured KEKs (the first one seals)."""

    def __init__(self, keks: Sequence[bytes]) -> None:
        if not keks:
            raise ValueError("a secret box needs at least one key")
        for kek in keks:
            if len(kek) != KEY_BYTES:
                raise ValueError(f"a secret key must be {KEY_BYTES} bytes")
        self._keys = [_Key(k) for k in keks]
        self._by_id = {k.id: k for k in reversed(self._keys)}

    def __repr__(self) -> str:
        return f"SecretBox(key_ids={self.key_ids!r})"

    @property
    def key_id(self) -> str:
        """The id of the key that seals (the first configured)."""
        return self._keys[0].id

    @property
    def key_ids(self) -> list[str]:
        return [k.id for k in self._keys]

    @staticmethod
    def _aad(key_id: str, purpose: str, row: str) -> bytes:
        return "\x00".join((VERSION, key_id, purpose, row)).encode()

    def seal(self, plaintext: bytes, purpose: str, row: str) -> str:
        """``plaintext`` sealed for ``purpose`` in ``row`` under the first key."""
        key = self._keys[0]
        nonce = os.urandom(NONCE_BYTES)
        ct = key.aead.encrypt(nonce, plaintext, self._aad(key.id, purpose, row))
        return f"{VERSION}.{key.id}.{_b64(nonce + ct)}"

    def open(self, sealed: str, purpose: str, row: str) -> bytes:
        """The plaintext of a value :meth:`seal` made for the same ``purpose`` and ``row``;
        :class:`SecretBoxError` otherwise."""
        key_id, body = _split(sealed)
        key = self._by_id.get(key_id)
        if key is None:
            raise SecretBoxError(
                f"sealed under key {key_id}, which is not among the configured secret keys"
            )
        try:
            raw = _unb64(body)
        except (binascii.Error, ValueError):
            raise SecretBoxError("sealed value is not valid base64url") from None
        nonce, ct = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
        try:
            return key.aead.decrypt(nonce, ct, self._aad(key_id, purpose, row))
        except InvalidTag:
            raise SecretBoxError(
                f"sealed value does not authenticate for {purpose} {row!r} under key {key_id}"
            ) from None

    def seal_text(self, plaintext: str, purpose: str, row: str) -> str:
        return self.seal(plaintext.encode(), purpose, row)

    def open_text(self, sealed: str, purpose: str, row: str) -> str:
        return self.open(sealed, purpose, row).decode()

    def needs_reseal(self, stored: str) -> bool:
        """``stored`` is plaintext, or sealed under a key other than the first."""
        return not is_sealed(stored) or key_id_of(stored) != self.key_id

    def reseal(self, stored: str, purpose: str, row: str) -> str:
        """``stored`` (sealed under any configured key) sealed again under the first key."""
        return self.seal(self.open(stored, purpose, row), purpose, row)

    def subkey(self, label: str, length: int = KEY_BYTES) -> bytes:
        """An independent key for ``label`` (e.g. ``"pending-sign-in-cookie"``) derived from
        the first KEK with HKDF-SHA256 (RFC 5869 §3.2: distinct ``info``, independent keys)."""
        return self.subkeys(label, length)[0]

    def subkeys(self, label: str, length: int = KEY_BYTES) -> list[bytes]:
        """The key for ``label`` from every configured KEK, the current one first: seal with
        the first, accept any, so values made before a rotation keep opening."""
        if not label:
            raise ValueError("a subkey needs a label")
        return [_derive(k.kek, _SUBKEY_INFO + label.encode(), length) for k in self._keys]


def _split(sealed: str) -> tuple[str, str]:
    """``(key id, body)`` of a sealed value."""
    parts = sealed.split(".")
    if len(parts) != 3 or parts[0] != VERSION:
        raise SecretBoxError("not a sealed value")
    return parts[1], parts[2]


def key_id_of(sealed: str) -> str:
    """The id of the key a sealed value needs (:attr:`SecretBox.key_ids`)."""
    return _split(sealed)[0]


def is_sealed(stored: str) -> bool:
    """Whether a stored value is sealed (rather than a legacy plaintext value)."""
    return stored.startswith(VERSION + ".")


def seal_client_secret(box: SecretBox, owner: str, secret: str) -> str:
    """A client secret Propylon must present (e.g. to an upstream OpenID Provider), sealed
    for the record ``owner`` that stores it."""
    return box.seal_text(secret, CLIENT_SECRET, owner)


def open_client_secret(box: SecretBox, owner: str, sealed: str) -> str:
    """The client secret :func:`seal_client_secret` sealed for ``owner``."""
    return box.open_text(sealed, CLIENT_SECRET, owner)


MAX_EXPIRING_CHARS = 4096
"""A sealed expiring value longer than this is refused before any decryption (a cookie's)."""


def seal_expiring(box: SecretBox, plaintext: bytes, purpose: str, expires_at: int) -> str:
    """``plaintext`` sealed for ``purpose`` until ``expires_at`` (Unix seconds), e.g. a
    short-lived cookie: the expiry is sealed with it (8 bytes, big-endian, in front), so it
    can be neither read nor changed without the key."""
    if not 0 < expires_at < 2**63:
        raise ValueError("expires_at is Unix seconds")
    return box.seal(expires_at.to_bytes(8, "big") + plaintext, purpose, "expiring")


def open_expiring(box: SecretBox, sealed: str, purpose: str, now: float) -> bytes:
    """The plaintext of a value :func:`seal_expiring` made for ``purpose`` that has not
    expired at ``now``; :class:`SecretBoxError` otherwise (also for any other sealed value,
    one of another purpose, or anything too long to be one)."""
    if not sealed or len(sealed) > MAX_EXPIRING_CHARS:
        raise SecretBoxError("not a sealed expiring value")
    raw = box.open(sealed, purpose, "expiring")
    if len(raw) < 8:
        raise SecretBoxError("not a sealed expiring value")
    if int.from_bytes(raw[:8], "big") <= now:
        raise SecretBoxError(f"sealed value for {purpose} has expired")
    return raw[8:]
