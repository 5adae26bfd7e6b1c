"""A policy bound to :func:`request`: what protocol code is handed, so it can reach the
network only through the guard (and tests can hand it a fake)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, TypedDict, Unpack

from propylon.outbound.client import OutboundResponse, request
from propylon.outbound.policy import OutboundPolicy


class RequestOptions(TypedDict, total=False):
    """The keyword arguments of :func:`request` after the URL."""

    headers: Mapping[str, str] | None
    form: Mapping[str, str] | None
    follow_redirects: bool


class Fetcher(Protocol):
    async def __call__(
        self, method: str, url: str, **options: Unpack[RequestOptions]
    ) -> OutboundResponse: ...


@dataclass(frozen=True)
class GuardedFetcher:
    """:func:`request` under ``policy``."""

    policy: OutboundPolicy

    async def __call__(
        self, method: str, url: str, **options: Unpack[RequestOptions]
    ) -> OutboundResponse:
        return await request(self.policy, method, url, **options)
