"""Token revocation (RFC 7009) on Authlib's ``RevocationEndpoint``.

Revoking either token revokes the whole grant — every refresh token of its family and, via
the ``grant_id`` claim, every access token issued from it (§2.1 permits both directions).
Public clients identify with ``client_id`` alone (§2.1). Unknown, invalid or already revoked
tokens answer 200 (§2.2). A token of another client is ``invalid_grant`` per Authlib.
"""

from __future__ import annotations

from typing import Any, ClassVar

from authlib.oauth2.rfc7009 import RevocationEndpoint

from propylon.provider.exchange import Exchange
from propylon.provider.models import CONFIDENTIAL_AUTH, Subject


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = [*CONFIDENTIAL_AUTH, "none"]

    @property
    def exchange(self) -> Exchange:
        ex: Exchange = self.server.exchange
        return ex

    def query_token(self, token_string: str, token_type_hint: str | None) -> Subject | None:
        return self.exchange.subject

    def revoke_token(self, token: Subject, request: Any) -> None:
        self.exchange.revoke_family()
