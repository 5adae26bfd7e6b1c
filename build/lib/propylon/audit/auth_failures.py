"""Failed authentication: limited per client address, audited in aggregate.

A request with a wrong SCIM token, management API key or OAuth client credential must stay
cheap, or anyone can make the server write without end (issue 12). So no such request writes
to the database by itself:

* Each failure is counted per client address in the accelerator (``cache/``: Redis across
  processes, or in-process), over the current and the previous minute. Once an address has
  ``PROPYLON_AUTH_FAILURE_RATE_LIMIT_PER_MINUTE`` failures there, it is refused (429 with
  ``Retry-After``) for a minute; a failure after that, while the count of the last two
  minutes is still over the limit, refuses it again at once. The check is an in-process
  lookup made before any database work; with Redis a refusal is fanned out to every process.
* The audit trail gets, per address, surface and minute, from each process, at most two
  entries: the first failure (``auth.failure``, with its reason and request id) and, when the
  minute is over, a summary (``auth.failure.summary``: how many failed and how many were
  refused). Both go through the batched writer (``audit/buffer.py``), which asks for the
  summaries before each of its writes. Past
  ``PROPYLON_AUTH_FAILURE_AUDIT_MAX_ADDRESSES`` addresses in a minute, the others share one
  pair of entries under the address ``*``. They belong to no tenant: an unauthenticated
  request proves none.

An IPv4 client is its address; an IPv6 client is its network of
``PROPYLON_AUTH_FAILURE_IPV6_PREFIX`` bits, since one host usually holds a whole /64.

Sharing an address (a NAT) with an attacker: a credential that authenticated in this process
is *known good* and is still served from a refused address, so an IdP or platform that has
been working keeps working while an attacker behind the same NAT is refused. A credential not
yet seen by this process (after a restart, say) waits with the attacker until the minute ends.
A known-good credential that fails (revoked since) stops being one.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import structlog

from propylon.audit.buffer import AuditBuffer
from propylon.audit.log import Actor, AuditRecord, values
from propylon.cache.base import Accelerator
from propylon.cache.fanout import UNAVAILABLE

log = structlog.get_logger("propylon.audit")

Surface = Literal["scim", "management_api", "oauth_client"]
CHANNEL = "auth-failure-limit"
"""Fan-out channel: ``"<address> <until, epoch seconds>"`` when an address is refused."""
WINDOW_SECONDS = 60
OTHERS = "*"
"""The address of the shared entries past ``auth_failure_audit_max_addresses``."""
_ACTOR: dict[str, str] = {
    "scim": "scim_token",
    "management_api": "api_key",
    "oauth_client": "oauth_client",
}
_MAX_REFUSED = 100_000
_MAX_KNOWN = 10_000


@dataclass(frozen=True)
class Failure:
    """One failed authentication, as the HTTP edge saw it (no secret: ``credential`` is the
    presented credential's hash, ``detail`` what an administrator may read)."""

    surface: Surface
    address: str
    reason: str
    request_id: str | None = None
    credential: str | None = None
    directory_id: str | None = None
    detail: Mapping[str, str] = field(default_factory=dict)
    guessed: bool = True
    """A credential was presented and looked up. A request presenting none is audited alike
    but not held against its address: it cost no database work and guessed no secret, and
    a misconfigured client should not lock out its neighbours."""


@dataclass
class _Tally:
    surface: Surface
    address: str
    first_at: float
    last_at: float
    failures: int = 0
    refused: int = 0


def _clean(text: str) -> str:
    """Caller-supplied text fit for the audit trail: printable characters only (no NUL, which
    PostgreSQL refuses, nor lone surrogates), at most 64. One entry the database refuses
    would hold up the batched writer's whole batch."""
    return "".join(ch for ch in text[:256] if ch.isprintable())[:64]


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class AuthFailures:
    """The per-address limit on failed authentication and its aggregated audit entries."""

    def __init__(
        self,
        cache: Accelerator,
        buffer: AuditBuffer,
        *,
        limit: int,
        max_addresses: int = 1000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._cache = cache
        self._buffer = buffer
        self._limit = limit
        self._max_addresses = max_addresses
        self._clock = clock
        self._refused: dict[str, float] = {}
        """address → until when (epoch seconds) it is refused"""
        self._known: set[str] = set()
        self._tallies: dict[tuple[str, str], _Tally] = {}
        self._window = int(clock() // WINDOW_SECONDS)
        buffer.add_source(self._roll_when_due)

    # --- the request path -----------------------------------------------------------------

    def refused(self, address: str, credential: str | None, surface: Surface) -> int | None:
        """Seconds the caller must wait (``Retry-After``) when ``address`` is refused now, else
        None. In-process only: no I/O, and a dictionary test while nobody is refused."""
        if not self._refused:
            return None
        key = address
        until = self._refused.get(key)
        if until is None:
            return None
        now = self._clock()
        if until <= now:
            del self._refused[key]
            return None
        if credential is not None and credential in self._known:
            return None
        self._tally(key, surface, now).refused += 1
        return max(math.ceil(until - now), 1)

    def succeeded(self, credential: str) -> None:
        """``credential`` (a hash) authenticated: it is served even from a refused address."""
        if credential not in self._known:
            if len(self._known) >= _MAX_KNOWN:
                self._known.clear()
            self._known.add(credential)

    async def failed(self, failure: Failure) -> None:
        """Count one failed authentication against its address (refusing the address once
        over the limit) and tally it for the audit trail."""
        now = self._clock()
        key = failure.address
        if failure.credential is not None:
            self._known.discard(failure.credential)
        tally = self._tally(key, failure.surface, now)
        tally.failures += 1
        if tally.failures == 1:
            self._buffer.add(self._first_entry(tally, failure))
        if not failure.guessed:
            return
        try:
            recent = (await self._cache.count("authfail:" + key, WINDOW_SECONDS)).recent
        except UNAVAILABLE:
            # the shared count is out of reach (Redis down): this process's own count still
            # limits, and the failed credential is still refused as such (not a 503)
            recent = tally.failures
        if recent < self._limit or self._refused.get(key, 0.0) > now:
            return
        until = now + WINDOW_SECONDS
        self._refuse(key, until)
        log.warning("auth_failures_limited", address=key, surface=failure.surface, failures=recent)
        if self._cache.fanout:
            with contextlib.suppress(*UNAVAILABLE):
                await self._cache.publish(CHANNEL, f"{key} {until}")

    async def on_message(self, message: str) -> None:
        """Another process refused an address (:data:`CHANNEL`)."""
        key, _, until = message.rpartition(" ")
        with contextlib.suppress(ValueError):
            if key and float(until) > self._refused.get(key, 0.0):
                self._refuse(key, float(until))

    def _refuse(self, key: str, until: float) -> None:
        if key not in self._refused and len(self._refused) >= _MAX_REFUSED:
            now = self._clock()
            self._refused = {k: u for k, u in self._refused.items() if u > now}
            if len(self._refused) >= _MAX_REFUSED:
                log.warning("auth_failures_refusals_full", address=key)
                return
        self._refused[key] = until

    # --- the audit trail ------------------------------------------------------------------

    def _tally(self, key: str, surface: Surface, now: float) -> _Tally:
        self._roll_when_due()
        tally = self._tallies.get((key, surface))
        if tally is None:
            if len(self._tallies) >= self._max_addresses:
                key = OTHERS
                tally = self._tallies.get((key, surface))
            if tally is None:
                tally = self._tallies[(key, surface)] = _Tally(surface, key, now, now)
        tally.last_at = now
        return tally

    def _first_entry(self, tally: _Tally, failure: Failure) -> dict[str, Any]:
        actor = Actor(
            _ACTOR[tally.surface],
            directory_id=_clean(failure.directory_id) if failure.directory_id else None,
        )
        rec = AuditRecord(
            action="auth.failure",
            target_type="client_address",
            target_id=tally.address,
            status=401,
            reason=failure.reason,
            diff={"surface": tally.surface, **{k: _clean(v) for k, v in failure.detail.items()}},
            request_id=_clean(failure.request_id) if failure.request_id else None,
        )
        return values(actor, rec, "failure", _at(tally.first_at))

    def roll(self) -> None:
        """Hand the summaries of the minute's tallies to the audit writer and start afresh."""
        tallies, self._tallies = self._tallies, {}
        for t in tallies.values():
            if t.failures <= 1 and not t.refused:
                continue  # the first failure's own entry says it all
            rec = AuditRecord(
                action="auth.failure.summary",
                target_type="client_address",
                target_id=t.address,
                status=429 if t.refused else 401,
                reason=f"{t.failures} failed authentications and {t.refused} requests refused "
                f"from {t.address} in one minute",
                diff={
                    "surface": t.surface,
                    "failures": t.failures,
                    "refused": t.refused,
                    "first_at": _at(t.first_at).isoformat(),
                    "last_at": _at(t.last_at).isoformat(),
                },
            )
            self._buffer.add(values(Actor(_ACTOR[t.surface]), rec, "failure", _at(t.last_at)))

    def _roll_when_due(self) -> None:
        """Before each flush of the audit writer: once the minute is over, its summaries."""
        window = int(self._clock() // WINDOW_SECONDS)
        if window != self._window:
            self.roll()
            self._window = window
