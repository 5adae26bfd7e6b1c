"""What the SCIM service needs from the process it runs in, declared here so ``scim/`` does
not import the runtime: :class:`propylon.runtime.Runtime` satisfies :class:`ScimRuntime`
structurally, and ``api/`` passes it in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from propylon.audit.auth_failures import AuthFailures
from propylon.audit.buffer import AuditBuffer
from propylon.cache.base import Accelerator
from propylon.db.engine import Database
from propylon.directory.events import EventBus
from propylon.directory.scope_cache import ScopeCache
from propylon.settings import Settings


class ScimRuntime(Protocol):
    """The settings, database, accelerator (rate limits), clock, token scope cache,
    failed-authentication limits, audit buffer and change events of one process."""

    @property
    def settings(self) -> Settings: ...
    @property
    def db(self) -> Database: ...
    @property
    def cache(self) -> Accelerator: ...
    @property
    def clock(self) -> Callable[[], datetime]: ...
    @property
    def scope_cache(self) -> ScopeCache: ...
    @property
    def auth_failures(self) -> AuthFailures: ...
    @property
    def audit_buffer(self) -> AuditBuffer | None: ...
    @property
    def events(self) -> EventBus: ...
