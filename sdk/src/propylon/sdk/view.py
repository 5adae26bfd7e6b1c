"""The host platform's local view of revocations and entitlements, kept by Propylon's event
stream (``GET /api/v1/events/stream``, Server-Sent Events, see ``docs/events.md``).

What it holds (each fact from the event that states it):

- ``session.revoked``: the session id is dead; ``grant.revoked``: the token family is dead;
- ``user.sessions_revoked`` (and ``user.deactivated``/``user.deleted``, which imply it): every
  token of the user issued at or before ``before`` is dead; a deactivated or deleted user has
  no valid token at all until ``user.reactivated``;
- ``tenant.sessions_revoked``: tokens of the tenant's listed sign-in methods issued at or
  before ``before`` are dead; ``connection.deleted``, or ``connection.updated`` to disabled:
  tokens through that connection (the ``idp`` claim) issued until then are dead;
- ``user.entitlements_changed``: the user's roles, tier and programs at a version; a token
  carrying an older ``entitlements_version`` gets the newer ones.

The view is *fresh* only while heartbeats arrive: Propylon sends one only after reading its
database, so a heartbeat received at local time T certifies every event up to its ``seq`` was
sent before it. Past ``staleness`` seconds without one, the view must not be trusted alone.

Facts about tokens are forgotten ``retention`` seconds after they were recorded: by then every
token they concern has expired (the verifier refuses tokens living longer than that).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from propylon.sdk.principal import Entitlements

SUBSCRIBED = (
    "session.revoked",
    "grant.revoked",
    "user.sessions_revoked",
    "tenant.sessions_revoked",
    "user.deactivated",
    "user.deleted",
    "user.reactivated",
    "user.entitlements_changed",
    "connection.updated",
    "connection.deleted",
)
"""The event types the view needs (the stream is asked for these only)."""


def _instant(value: Any) -> float | None:
    """RFC 3339 date-time → POSIX seconds (``None`` if absent or not one)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


class LocalView:
    """Revocations and entitlements, updated by one writer (the stream), read by any thread
    (plain dict reads, atomic under the GIL)."""

    def __init__(
        self,
        *,
        staleness: float = 3.0,
        retention: float = 3600.0,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.staleness = staleness
        self.retention = retention
        self._monotonic = monotonic
        self._wall = wall
        self.last_seq = 0
        self.heartbeat_seq = 0
        self._heartbeat_at: float | None = None
        self._quickest = float("inf")
        """The smallest (arrival - ``at``) seen: the clocks' offset plus the least latency."""
        self.revoked_sessions: dict[str, float] = {}
        self.revoked_grants: dict[str, float] = {}
        self.user_cutoffs: dict[str, float] = {}
        self.inactive_users: set[str] = set()
        self.tenant_cutoffs: dict[tuple[str, str], float] = {}
        self.connection_cutoffs: dict[str, float] = {}
        self.entitlements: dict[str, Entitlements] = {}
        self._lock = threading.Lock()
        self._applied_since_prune = 0
        self._changed = threading.Condition(self._lock)

    # -- writer side (the stream) --------------------------------------------------------

    def heartbeat(self, seq: int, at: float | None = None) -> None:
        """Propylon certified it sent every event up to ``seq`` as of ``at`` (its clock, unix
        seconds). The view is fresh from the moment ``at`` stands for here: the heartbeat's
        arrival, less however much later than the quickest heartbeat so far it came (a
        heartbeat held back by a buffering proxy or a stalled connection vouches only for
        the past, and the clocks' offset cancels out)."""
        with self._changed:
            self.heartbeat_seq = max(self.heartbeat_seq, seq)
            fresh = self._monotonic()
            if at is not None:
                delay = self._wall() - at
                self._quickest = min(self._quickest, delay)
                fresh -= delay - self._quickest
            if self._heartbeat_at is None or fresh > self._heartbeat_at:
                self._heartbeat_at = fresh
            self._changed.notify_all()

    def lost(self) -> None:
        """The stream broke: the view is stale until the next heartbeat."""
        with self._changed:
            self._heartbeat_at = None

    def apply(self, event: Mapping[str, Any]) -> None:
        """Record one event envelope (``{"seq", "type", "data", "created_at", ...}``)."""
        seq = event.get("seq")
        data = event.get("data")
        if not isinstance(data, dict):
            data = {}
        at = _instant(event.get("created_at")) or self._wall()
        kind = event.get("type")
        with self._changed:
            if isinstance(seq, int) and seq > self.last_seq:
                self.last_seq = seq
            handler = _HANDLERS.get(kind) if isinstance(kind, str) else None
            if handler is not None:
                handler(self, data, event.get("subject") or {}, at)
            self._applied_since_prune += 1
            if self._applied_since_prune >= 1000:
                self._prune()
            self._changed.notify_all()

    def _prune(self) -> None:
        self._applied_since_prune = 0
        horizon = self._wall() - self.retention
        for table in (self.revoked_sessions, self.revoked_grants, self.connection_cutoffs):
            for k in [k for k, t in table.items() if t < horizon]:
                del table[k]
        for u in [u for u, t in self.user_cutoffs.items() if t < horizon]:
            del self.user_cutoffs[u]
        for key in [k for k, t in self.tenant_cutoffs.items() if t < horizon]:
            del self.tenant_cutoffs[key]

    def _cut_user(self, user_id: Any, before: float) -> None:
        if isinstance(user_id, str):
            self.user_cutoffs[user_id] = max(before, self.user_cutoffs.get(user_id, 0.0))

    # -- reader side (every request) -----------------------------------------------------

    def fresh(self) -> bool:
        at = self._heartbeat_at
        return at is not None and self._monotonic() - at <= self.staleness

    def wait_fresh(self, timeout: float) -> bool:
        """Block until a heartbeat has been received (tests and start-up)."""
        deadline = self._monotonic() + timeout
        with self._changed:
            while not self.fresh():
                left = deadline - self._monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.05))
        return True

    def wait_seq(self, seq: int, timeout: float) -> bool:
        """Block until events up to ``seq`` are certified (a heartbeat at or past it)."""
        deadline = self._monotonic() + timeout
        with self._changed:
            while self.heartbeat_seq < seq:
                left = deadline - self._monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.05))
        return True

    def refusal(self, claims: Mapping[str, Any]) -> str | None:
        """Why the view refuses these (signature-checked) claims, or ``None``."""
        sid = claims["sid"]
        if sid in self.revoked_sessions:
            return "session_revoked"
        grant = claims.get("grant_id")
        if grant is not None and grant in self.revoked_grants:
            return "grant_revoked"
        sub = claims["sub"]
        if sub in self.inactive_users:
            return "user_revoked"
        iat = claims["iat"]
        cut = self.user_cutoffs.get(sub)
        if cut is not None and iat <= cut:
            return "user_revoked"
        if self.tenant_cutoffs:
            key = (claims.get("org_id") or "", claims.get("auth_method") or "")
            cut = self.tenant_cutoffs.get(key)
            if cut is not None and iat <= cut:
                return "tenant_revoked"
        if self.connection_cutoffs:
            cut = self.connection_cutoffs.get(claims.get("idp"))  # type: ignore[arg-type]
            if cut is not None and iat <= cut:
                return "connection_revoked"
        return None

    def newer_entitlements(self, user_id: str, version: Any) -> Entitlements | None:
        """The user's entitlements if the view knows a newer version than ``version``."""
        ent = self.entitlements.get(user_id)
        if ent is None:
            return None
        if isinstance(version, int) and not isinstance(version, bool) and version >= ent.version:
            return None
        return ent


Handler = Callable[[LocalView, dict[str, Any], Mapping[str, Any], float], None]


def _session_revoked(
    v: LocalView, data: dict[str, Any], subject: Mapping[str, Any], at: float
) -> None:
    session = data.get("session")
    sid = session.get("id") if isinstance(session, dict) else subject.get("id")
    if isinstance(sid, str):
        v.revoked_sessions[sid] = at


def _grant_revoked(
    v: LocalView, data: dict[str, Any], subject: Mapping[str, Any], at: float
) -> None:
    grant = data.get("grant_id") or subject.get("id")
    if isinstance(grant, str):
        v.revoked_grants[grant] = at


def _user_id(data: dict[str, Any], subject: Mapping[str, Any]) -> Any:
    user = data.get("user")
    if isinstance(user, dict) and isinstance(user.get("id"), str):
        return user["id"]
    return data.get("user_id") or subject.get("id")


def _user_sessions_revoked(
    v: LocalView, data: dict[str, Any], subject: Mapping[str, Any], at: float
) -> None:
    v._cut_user(_user_id(data, subject), _instant(data.get("before")) or at)


def _user_gone(v: LocalView, data: dict[str, Any], subject: Mapping[str, Any], at: float) -> None:
    user_id = _user_id(data, subject)
    if isinstance(user_id, str):
        v.inactive_users.add(user_id)
        v._cut_user(user_id, at)


def _user_back(v: LocalView, data: dict[str, Any], subject: Mapping[str, Any], at: float) -> None:
    v.inactive_users.discard(_user_id(data, subject))


def _tenant_revoked(
    v: LocalView, data: dict[str, Any], subject: Mapping[str, Any], at: float
) -> None:
    tenant = data.get("tenant_id") or subject.get("id")
    before = _instant(data.get("before")) or at
    methods = data.get("auth_methods")
    if isinstance(tenant, str) and isinstance(methods, list):
        for method in methods:
            if isinstance(method, str):
                key = (tenant, method)
                v.tenant_cutoffs[key] = max(before, v.tenant_cutoffs.get(key, 0.0))


def _connection_id(data: dict[str, Any], subject: Mapping[str, Any]) -> Any:
    conn = data.get("connection")
    conn = conn if isinstance(conn, dict) else {}
    return conn.get("connection_id") or conn.get("id") or subject.get("id")


def _connection_deleted(
    v: LocalView, data: dict[str, Any], subject: Mapping[str, Any], at: float
) -> None:
    conn_id = _connection_id(data, subject)
    if isinstance(conn_id, str):
        v.connection_cutoffs[conn_id] = at


def _connection_updated(
    v: LocalView, data: dict[str, Any], subject: Mapping[str, Any], at: float
) -> None:
    """Disabled (``"disabled": true`` in the management view, or ``"enabled": false``): its
    sessions ended then; re-enabling it does not bring them back."""
    conn = data.get("connection")
    if isinstance(conn, dict) and (conn.get("disabled") is True or conn.get("enabled") is False):
        _connection_deleted(v, data, subject, at)


def _entitlements(
    v: LocalView, data: dict[str, Any], subject: Mapping[str, Any], at: float
) -> None:
    user_id = _user_id(data, subject)
    ent = data.get("entitlements")
    if not isinstance(user_id, str) or not isinstance(ent, dict):
        return
    new = Entitlements.from_json(ent)
    old = v.entitlements.get(user_id)
    if old is None or new.version > old.version:
        v.entitlements[user_id] = new


_HANDLERS: dict[str, Handler] = {
    "session.revoked": _session_revoked,
    "grant.revoked": _grant_revoked,
    "user.sessions_revoked": _user_sessions_revoked,
    "tenant.sessions_revoked": _tenant_revoked,
    "user.deactivated": _user_gone,
    "user.deleted": _user_gone,
    "user.reactivated": _user_back,
    "user.entitlements_changed": _entitlements,
    "connection.updated": _connection_updated,
    "connection.deleted": _connection_deleted,
}
