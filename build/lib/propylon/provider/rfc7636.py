"""PKCE (RFC 7636) on Authlib's ``CodeChallenge``, stricter than the RFC:

- only ``S256`` (§4.2); ``plain`` — and an omitted method, which §4.3 defines as plain — are
  refused (RFC 9700 §2.1.1);
- a public client must send a challenge at the authorization endpoint (RFC 9700 §2.1.1,
  OAuth 2.1), not only a verifier at the token endpoint;
- §4.6: the verifier is checked against the stored challenge by Authlib.
"""

from __future__ import annotations

from typing import Any, ClassVar

from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge

from propylon.provider.models import Client, Code


class S256CodeChallenge(CodeChallenge):  # type: ignore[misc]
    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]

    def __init__(self) -> None:
        super().__init__(required=True)

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        request = grant.request
        data = request.payload.data
        challenge = data.get("code_challenge")
        method = data.get("code_challenge_method")
        client: Client = request.client
        if client.is_public and not challenge:
            raise InvalidRequestError("public clients must use PKCE (code_challenge, S256)")
        if challenge and method != "S256":
            raise InvalidRequestError("code_challenge_method must be S256")
        super().validate_code_challenge(grant, redirect_uri)

    def get_authorization_code_challenge(self, authorization_code: Code) -> str | None:
        return authorization_code.row.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: Code) -> str | None:
        return authorization_code.row.code_challenge_method
