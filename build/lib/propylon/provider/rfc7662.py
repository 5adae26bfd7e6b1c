"""Token introspection (RFC 7662) on Authlib's ``IntrospectionEndpoint``.

Only confidential clients authenticate here (§2.1), and a client may introspect only tokens
issued to it; any other token, an expired or revoked one, or one whose session ended or whose
user was deactivated or deprovisioned (even if reactivated since: the session's revocation
epoch has passed, see :mod:`propylon.sessions.service`) answers ``{"active": false}``
(§2.2). The presented token was verified and its session loaded before Authlib runs (see
``exchange``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from authlib.oauth2.rfc7662 import IntrospectionEndpoint

from propylon.provider.exchange import Exchange
from propylon.provider.models import CONFIDENTIAL_AUTH, Client, Subject


class Introspection(IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = list(CONFIDENTIAL_AUTH)

    @property
    def exchange(self) -> Exchange:
        ex: Exchange = self.server.exchange
        return ex

    def query_token(self, token_string: str, token_type_hint: str | None) -> Subject | None:
        return self.exchange.subject

    def check_permission(self, token: Subject, client: Client, request: Any) -> bool:
        return token.check_client(client)

    def introspect_token(self, token: Subject) -> dict[str, Any]:
        c = token.claims
        body: dict[str, Any] = {
            "active": True,
            "token_type": "Bearer" if token.kind == "access_token" else "refresh_token",
            "client_id": token.client_id,
            "scope": token.get_scope(),
            "exp": token.expires_at,
            "iss": self.exchange.issuer,
        }
        for k in (
            "sub",
            "aud",
            "iat",
            "jti",
            "sid",
            "org_id",
            "org_slug",
            "email",
            "auth_method",
            "amr",
            "idp",
            "roles",
        ):
            if k in c:
                body[k] = c[k]
        return body
