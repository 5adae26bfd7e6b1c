"""Fixtures for running third-party SCIM conformance tools against the live server."""

from __future__ import annotations

from typing import Any

import httpx
from scim2_client import BaseSyncSCIMClient


class HttpxSyncSCIMClient(BaseSyncSCIMClient):
    """A scim2-client engine over ``httpx.Client``.

    scim2-client 0.13 ships engines for ``httpx2`` (not installed here), WSGI and ASGI; the
    server under test is a separate process, so this sends real HTTP with plain httpx, as the
    bundled ``httpx2`` engine does.
    """

    def __init__(self, client: httpx.Client, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client = client

    def _stays_under_base_url(self, endpoint: str) -> bool:
        base = self.client.base_url
        try:
            url = self.client.build_request("GET", endpoint).url
        except httpx.InvalidURL:
            return False
        return bool(
            url.scheme == base.scheme
            and url.netloc == base.netloc
            and url.raw_path.startswith(base.raw_path)
        )

    def _parse_json(self, response: Any) -> Any:
        return response.json()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.client.request(method, url, **kwargs)
