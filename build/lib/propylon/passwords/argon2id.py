"""Password hashing with argon2id (RFC 9106 §3; parameters at or above OWASP's Password
Storage Cheat Sheet minimum: 19 MiB, 2 passes, 1 lane), run in a worker thread so the event
loop keeps serving while a hash is computed (argon2-cffi releases the GIL).

Verification against an account that does not exist runs against a dummy hash of the same
parameters, so a sign-in takes as long whether or not the email has an account."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


@dataclass(frozen=True)
class Verified:
    ok: bool
    needs_rehash: bool
    """The stored hash was made with other parameters than the current ones (RFC 9106 §4:
    parameters are raised over time): hash the password again now that it is known."""


class PasswordHashing:
    def __init__(self, memory_kib: int, time_cost: int, parallelism: int) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )
        self._dummy: str | None = None

    def hash_now(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify_now(self, stored: str | None, password: str) -> Verified:
        """``stored`` ``None``: no such account; the work is done against a dummy hash and
        the answer is no."""
        if stored is None:
            if self._dummy is None:
                self._dummy = self._hasher.hash(secrets.token_urlsafe(32))
            stored, real = self._dummy, False
        else:
            real = True
        try:
            self._hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return Verified(False, False)
        return Verified(real, real and self._hasher.check_needs_rehash(stored))

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self.hash_now, password)

    async def verify(self, stored: str | None, password: str) -> Verified:
        return await asyncio.to_thread(self.verify_now, stored, password)
