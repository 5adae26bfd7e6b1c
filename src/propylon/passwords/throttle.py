"""Slowing online guessing (NIST SP 800-63B §5.2.2, "Rate Limiting (Throttling)"): growing
delays per account and per client address, kept in the accelerator (Redis or in-process),
so a failed attempt writes nothing to the database.

A few failures are free; each further one makes the next attempt wait twice as long as the
one before, up to a cap (:class:`~propylon.cache.base.BackoffPolicy`). An attempt during a
delay is refused with 429 and ``Retry-After`` and is not verified, so it neither counts nor
costs a hash. The cap bounds what anyone can impose on an account: once the delay has passed
the right password works from any address that is not itself slowed, and a success clears
the account's failures. The account is its email address as typed (normalised), so an email
without an account is slowed exactly like one with."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from propylon.cache.base import Accelerator, BackoffPolicy


@dataclass(frozen=True)
class Throttle:
    cache: Accelerator
    account: BackoffPolicy
    address: BackoffPolicy
    prefix: str = "pw"
    """Keeps the counts of one kind of account apart (``op``: console operators)."""

    def _account_key(self, email: str) -> str:
        return f"{self.prefix}-acct:" + hashlib.sha256(email.encode()).hexdigest()

    async def wait(self, email: str, client: str) -> int:
        """Seconds before this address may try this account again (0: now)."""
        by_account = await self.cache.backoff(self._account_key(email))
        by_address = await self.cache.backoff(f"{self.prefix}-addr:" + client)
        return max(by_account.retry_after, by_address.retry_after)

    async def failed(self, email: str, client: str) -> None:
        await self.cache.add_failure(self._account_key(email), self.account)
        await self.cache.add_failure(f"{self.prefix}-addr:" + client, self.address)

    async def succeeded(self, email: str) -> None:
        await self.cache.clear_failures(self._account_key(email))
