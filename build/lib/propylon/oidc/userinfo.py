"""The UserInfo request (OpenID Connect Core §5.3): a bearer GET (RFC 6750 §2.1), a JSON
object answer (§5.3.2; signed or encrypted UserInfo is not asked for, so not accepted)
whose ``sub`` is exactly the ID token's (§5.3.2: otherwise the answer "MUST NOT be used",
it may be another person's)."""

from __future__ import annotations

import hmac
import json
from typing import Any

from propylon.oidc.errors import OidcError
from propylon.oidc.metadata import ProviderMetadata
from propylon.outbound import Fetcher, OutboundError

MAX_BYTES = 65_536
_STAGE = "userinfo"


async def fetch_userinfo(
    meta: ProviderMetadata,
    access_token: str,
    expected_sub: str,
    fetch: Fetcher,
    *,
    max_bytes: int = MAX_BYTES,
) -> dict[str, Any]:
    """The claims the UserInfo endpoint returns for ``access_token``."""
    if meta.userinfo_endpoint is None:
        raise OidcError("userinfo_unavailable", "the provider has no userinfo endpoint", _STAGE)
    try:
        response = await fetch(
            "GET",
            meta.userinfo_endpoint,
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        )
    except OutboundError as exc:
        raise OidcError("userinfo_failed", exc.detail, _STAGE, {"cause": exc.reason}) from None
    if response.status != 200:
        raise OidcError(
            "userinfo_failed",
            f"the userinfo endpoint answered {response.status}",
            _STAGE,
            {"status": response.status},
        )
    media = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise OidcError("userinfo_invalid", f"the userinfo answer is {media or 'untyped'}", _STAGE)
    if len(response.body) > max_bytes:
        raise OidcError(
            "userinfo_invalid", f"the userinfo answer is over {max_bytes} bytes", _STAGE
        )
    try:
        claims = json.loads(response.body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        claims = None
    if not isinstance(claims, dict):
        raise OidcError("userinfo_invalid", "the userinfo answer is not a JSON object", _STAGE)
    sub = claims.get("sub")
    if not isinstance(sub, str) or not hmac.compare_digest(
        sub.encode("utf-8", "surrogatepass"), expected_sub.encode("utf-8", "surrogatepass")
    ):
        raise OidcError("subject_mismatch", "the userinfo sub is not the ID token's", _STAGE)
    return claims
