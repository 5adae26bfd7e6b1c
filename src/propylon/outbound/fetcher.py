"""A policy bound to :func:`request`: what protocol code is handed, so it can reach the
network only through the guard (and tests can hand it a fake)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from propylon.outbound.client import OutboundResponse, request
from propylon.outbound.policy import OutboundPolicy


class Fetcher(Protocol):
    async def __call__(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        follow_redirects: bool = True,
    ) -> OutboundResponse: ...


@dataclass(frozen=True)
class GuardedFetcher:
    """:func:`request` under ``policy``."""

    policy: OutboundPolicy

    async def __call__(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        follow_redirects: bool = True,
    ) -> OutboundResponse:
        return await request(
            self.policy, method, url, headers=headers, form=form, follow_redirects=follow_redirects
        )
