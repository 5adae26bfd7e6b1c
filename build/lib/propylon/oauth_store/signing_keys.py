"""Signing keys and the JWK Set (RFC 7517 §5, RFC 7518 §3.4 ES256 / §3.3 RS256).

The newest key without ``retire_at`` signs; older keys stay published in ``/oauth2/jwks``
until their ``retire_at`` so tokens they signed keep verifying during a rotation
(OpenID Connect Core §10.1.1). The first key is created on first use; two processes racing
to create it merely publish two keys, and both sign valid tokens.

Each process keeps the signing key it read, parsed, in :class:`SigningKeyCache` (on the
runtime) for :data:`KEY_CACHE_SECONDS`. ``propylon keys rotate`` runs in another process; it
publishes :data:`CHANNEL` on the accelerator after the rotation committed, and with Redis every
server process drops its cached key at once (and, while its listener is disconnected from
Redis, reads the active key on every use: ``cache/fanout.py``). Without Redis (one process,
embedded mode) or if the message is lost, every process signs with the new key at most
:data:`KEY_CACHE_SECONDS` after the rotation committed.
Tokens a process signs with the previous key meanwhile keep verifying, because a rotation
keeps the previous key in the JWK Set for ``PROPYLON_SIGNING_KEY_RETIRE_SECONDS`` (which must
therefore stay well above :data:`KEY_CACHE_SECONDS`; the default is a day). The JWK Set and
the verification keys are read from the database on every request; only their parsing is
cached, by ``kid`` (the RFC 7638 thumbprint, so one ``kid`` is always the same key).

The private JWK is stored sealed (:mod:`propylon.crypto.secretbox`, purpose
:data:`~propylon.crypto.secretbox.SIGNING_KEY`, bound to its ``kid``) as ``{"sealed": ...}``;
a row from before sealing holds the plain JWK, is still read, and is sealed when the runtime
starts (:func:`propylon.admin.secrets.seal_stored_secrets`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from joserfc.jwk import ECKey, KeySet, RSAKey
from sqlalchemy import bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.cache.fanout import FanoutHealth, trusted_epoch
from propylon.crypto.secretbox import SIGNING_KEY, SecretBox
from propylon.db.tables import core
from propylon.db.tables_sso import SigningKey

SUPPORTED_ALGS = ("ES256", "RS256")
KEY_CACHE_SECONDS = 2.0
"""How long a process signs with the key it read before reading the active key again: the
bound on how late a process follows ``propylon keys rotate``."""
_MAX_PARSED = 64


@dataclass(frozen=True)
class SigningMaterial:
    """The active private key, parsed, usable from sync code."""

    kid: str
    alg: str
    private: ECKey | RSAKey


def import_private(jwk: dict[str, Any]) -> ECKey | RSAKey:
    if jwk.get("kty") == "EC":
        return ECKey.import_key(jwk)
    return RSAKey.import_key(jwk)


def seal_jwk(box: SecretBox, kid: str, jwk: dict[str, Any]) -> dict[str, Any]:
    """The stored form of the private ``jwk`` of ``kid``."""
    return {"sealed": box.seal_text(json.dumps(jwk, sort_keys=True), SIGNING_KEY, kid)}


def open_jwk(box: SecretBox, kid: str, stored: dict[str, Any]) -> dict[str, Any]:
    """The private JWK of ``kid`` from its stored form (sealed, or plain in an old row)."""
    sealed = stored.get("sealed")
    if sealed is None:
        return stored
    jwk: dict[str, Any] = json.loads(box.open_text(sealed, SIGNING_KEY, kid))
    return jwk


def _generate(alg: str) -> tuple[str, dict[str, Any]]:
    if alg not in SUPPORTED_ALGS:
        raise ValueError(f"unsupported signing algorithm {alg!r}")
    key: ECKey | RSAKey = (
        ECKey.generate_key("P-256") if alg == "ES256" else RSAKey.generate_key(2048)
    )
    kid = key.thumbprint()
    jwk = {**key.as_dict(private=True), "kid": kid, "alg": alg, "use": "sig"}
    return kid, jwk


def _new_key(
    session: AsyncSession, alg: str, now: datetime, box: SecretBox
) -> tuple[SigningKey, ECKey | RSAKey]:
    kid, jwk = _generate(alg)
    row = SigningKey(
        kid=kid,
        alg=alg,
        private_jwk=seal_jwk(box, kid, jwk),
        created_at=now,
        active_from=now,
        retire_at=None,
    )
    session.add(row)
    return row, import_private(jwk)


_KEYS = core(SigningKey)
_ACTIVE = (
    select(_KEYS.c.kid, _KEYS.c.alg, _KEYS.c.private_jwk)
    .where(_KEYS.c.alg == bindparam("alg"), _KEYS.c.retire_at.is_(None))
    .order_by(_KEYS.c.active_from.desc(), _KEYS.c.kid)
    .limit(1)
)


async def _read_active(session: AsyncSession, alg: str) -> tuple[str, str, dict[str, Any]] | None:
    conn = await session.connection()
    found = (await conn.execute(_ACTIVE, {"alg": alg})).first()
    return (found[0], found[1], found[2]) if found is not None else None


async def active_key(
    session: AsyncSession, alg: str, now: datetime, box: SecretBox
) -> SigningMaterial:
    """The signing key, created on first use (needs a write transaction then)."""
    found = await _read_active(session, alg)
    if found is not None:
        kid, row_alg, stored = found
        return SigningMaterial(kid, row_alg, import_private(open_jwk(box, kid, stored)))
    row, key = _new_key(session, alg, now, box)
    await session.flush()
    return SigningMaterial(row.kid, row.alg, key)


CHANNEL = "signing-keys"
"""Accelerator fan-out channel: a rotation committed; drop cached signing keys."""


class SigningKeyCache:
    """Per process (on the runtime): the active signing key per algorithm, read and parsed
    at most once per ``ttl`` seconds, and parsed keys by ``kid``, opened with ``box``. See the
    module docstring for the rotation bound."""

    def __init__(
        self,
        box: SecretBox,
        ttl: float = KEY_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        health: FanoutHealth | None = None,
    ) -> None:
        self.box = box
        self.ttl = ttl
        self._clock = clock
        self._health = health
        self._active: dict[str, tuple[SigningMaterial, float, int]] = {}
        self._parsed: dict[str, ECKey | RSAKey] = {}

    async def active(self, session: AsyncSession, alg: str, now: datetime) -> SigningMaterial:
        cached = self._active.get(alg)
        epoch = trusted_epoch(self._health)  # None: the fan-out of rotations is disconnected
        if cached is not None and cached[1] > self._clock() and cached[2] == epoch:
            return cached[0]
        found = await _read_active(session, alg)
        if found is None:
            # created in the caller's transaction, which may still roll back: not cached
            return await active_key(session, alg, now, self.box)
        kid, row_alg, stored = found
        material = SigningMaterial(kid, row_alg, self.parsed(kid, stored))
        if epoch is not None:
            self._active[alg] = (material, self._clock() + self.ttl, epoch)
        return material

    async def on_message(self, _message: str) -> None:
        """A rotation was published on :data:`CHANNEL`: read the active key again."""
        self._active.clear()

    def parsed(self, kid: str, stored: dict[str, Any]) -> ECKey | RSAKey:
        """The parsed key of ``kid`` (its thumbprint: the same ``kid`` is the same key) from
        its stored form, opened once."""
        key = self._parsed.get(kid)
        if key is None:
            if len(self._parsed) >= _MAX_PARSED:
                self._parsed.clear()
            key = self._parsed[kid] = import_private(open_jwk(self.box, kid, stored))
        return key


async def rotate(
    session: AsyncSession, alg: str, now: datetime, retire_after: timedelta, box: SecretBox
) -> dict[str, Any]:
    """Start signing with a new key; current keys retire after ``retire_after``."""
    current = list(await session.scalars(select(SigningKey).where(SigningKey.retire_at.is_(None))))
    for old in current:
        old.retire_at = now + retire_after
    row, _ = _new_key(session, alg, now, box)
    await session.flush()
    return {
        "kid": row.kid,
        "alg": row.alg,
        "retiring": [
            {"kid": k.kid, "retire_at": (now + retire_after).isoformat()} for k in current
        ],
    }


async def published(session: AsyncSession, now: datetime) -> list[SigningKey]:
    rows = await session.scalars(
        select(SigningKey)
        .where(or_(SigningKey.retire_at.is_(None), SigningKey.retire_at > now))
        .order_by(SigningKey.active_from.desc(), SigningKey.kid)
    )
    return list(rows)


def public_jwks(rows: list[SigningKey], cache: SigningKeyCache) -> dict[str, Any]:
    """The JWK Set document: public parts only (RFC 7517 §5)."""
    keys = []
    for row in rows:
        key = cache.parsed(row.kid, row.private_jwk)
        public = key.as_dict(private=False)
        keys.append({**public, "kid": row.kid, "alg": row.alg, "use": "sig"})
    return {"keys": keys}


def verification_keys(rows: list[SigningKey], cache: SigningKeyCache) -> KeySet:
    return KeySet([cache.parsed(r.kid, r.private_jwk) for r in rows])


async def verifier(session: AsyncSession, now: datetime, cache: SigningKeyCache) -> KeySet | None:
    """The published keys (read now: a key past its ``retire_at`` no longer verifies), parsed
    through ``cache``; ``None`` when there are none yet."""
    rows = await published(session, now)
    return verification_keys(rows, cache) if rows else None
