"""Signing keys and the JWK Set (RFC 7517 §5, RFC 7518 §3.4 ES256 / §3.3 RS256).

The newest key without ``retire_at`` signs; older keys stay published in ``/oauth2/jwks``
until their ``retire_at`` so tokens they signed keep verifying during a rotation
(OpenID Connect Core §10.1.1). The first key is created on first use; two processes racing
to create it merely publish two keys, and both sign valid tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from joserfc.jwk import ECKey, KeySet, RSAKey
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables_sso import SigningKey

SUPPORTED_ALGS = ("ES256", "RS256")


@dataclass(frozen=True)
class SigningMaterial:
    """The active private key, as plain data usable from sync code."""

    kid: str
    alg: str
    private_jwk: dict[str, Any]

    def key(self) -> ECKey | RSAKey:
        return import_private(self.private_jwk)


def import_private(jwk: dict[str, Any]) -> ECKey | RSAKey:
    if jwk.get("kty") == "EC":
        return ECKey.import_key(jwk)
    return RSAKey.import_key(jwk)


def _generate(alg: str) -> tuple[str, dict[str, Any]]:
    if alg not in SUPPORTED_ALGS:
        raise ValueError(f"unsupported signing algorithm {alg!r}")
    key: ECKey | RSAKey = (
        ECKey.generate_key("P-256") if alg == "ES256" else RSAKey.generate_key(2048)
    )
    kid = key.thumbprint()
    jwk = {**key.as_dict(private=True), "kid": kid, "alg": alg, "use": "sig"}
    return kid, jwk


def _new_key(session: AsyncSession, alg: str, now: datetime) -> SigningKey:
    kid, jwk = _generate(alg)
    row = SigningKey(
        kid=kid, alg=alg, private_jwk=jwk, created_at=now, active_from=now, retire_at=None
    )
    session.add(row)
    return row


async def active_key(session: AsyncSession, alg: str, now: datetime) -> SigningMaterial:
    """The signing key, created on first use (needs a write transaction then)."""
    row = await session.scalar(
        select(SigningKey)
        .where(SigningKey.alg == alg, SigningKey.retire_at.is_(None))
        .order_by(SigningKey.active_from.desc(), SigningKey.kid)
        .limit(1)
    )
    if row is None:
        row = _new_key(session, alg, now)
        await session.flush()
    return SigningMaterial(row.kid, row.alg, dict(row.private_jwk))


async def rotate(
    session: AsyncSession, alg: str, now: datetime, retire_after: timedelta
) -> dict[str, Any]:
    """Start signing with a new key; current keys retire after ``retire_after``."""
    current = list(await session.scalars(select(SigningKey).where(SigningKey.retire_at.is_(None))))
    for old in current:
        old.retire_at = now + retire_after
    row = _new_key(session, alg, now)
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


def public_jwks(rows: list[SigningKey]) -> dict[str, Any]:
    """The JWK Set document: public parts only (RFC 7517 §5)."""
    keys = []
    for row in rows:
        public = import_private(row.private_jwk).as_dict(private=False)
        keys.append({**public, "kid": row.kid, "alg": row.alg, "use": "sig"})
    return {"keys": keys}


def verification_keys(rows: list[SigningKey]) -> KeySet:
    return KeySet([import_private(r.private_jwk) for r in rows])
