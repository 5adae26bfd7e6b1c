"""An OpenID Provider's metadata document (OpenID Connect Discovery 1.0 §3), read and
checked: its ``issuer`` is exactly the one asked for (§4.3: otherwise another provider
could stand in for this one), the endpoints are absolute http(s) URLs (https only unless
plain http is allowed: RFC 6749 §3.1, §3.2), the lists are lists of strings."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from propylon.oidc.errors import OidcError

WELL_KNOWN = "/.well-known/openid-configuration"


def discovery_url(issuer: str) -> str:
    """Discovery §4: a terminating ``/`` of the issuer is removed before the suffix."""
    return issuer.rstrip("/") + WELL_KNOWN


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None = None
    end_session_endpoint: str | None = None
    id_token_signing_alg_values_supported: tuple[str, ...] = ()
    authorization_response_iss_parameter_supported: bool = False
    """RFC 9207 §3: the authorization response carries ``iss``."""
    token_endpoint_auth_methods_supported: tuple[str, ...] = ("client_secret_basic",)
    """Discovery §3: ``client_secret_basic`` when the provider says nothing."""
    code_challenge_methods_supported: tuple[str, ...] = ()
    scopes_supported: tuple[str, ...] = ()
    response_types_supported: tuple[str, ...] = ()
    backchannel_logout_supported: bool = False
    backchannel_logout_session_supported: bool = False


def parse_metadata(body: bytes, issuer: str, *, require_https: bool) -> ProviderMetadata:
    """The checked metadata of ``issuer`` from a discovery response body."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise _invalid("the discovery document is not JSON") from None
    if not isinstance(doc, dict):
        raise _invalid("the discovery document is not a JSON object")
    if doc.get("issuer") != issuer:
        raise OidcError(
            "issuer_mismatch",
            "the discovery document names another issuer (Discovery §4.3)",
            "discovery",
            {"expected": issuer, "found": str(doc.get("issuer"))[:200]},
        )

    def url(name: str) -> str:
        value = doc.get(name)
        if not isinstance(value, str) or not _is_url(value, require_https):
            scheme = "https" if require_https else "http(s)"
            raise _invalid(f"{name} is not an absolute {scheme} URL")
        return value

    def optional_url(name: str) -> str | None:
        return None if doc.get(name) is None else url(name)

    def flag(name: str) -> bool:
        value = doc.get(name, False)
        if not isinstance(value, bool):
            raise _invalid(f"{name} is not a boolean")
        return value

    def strings(name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = doc.get(name)
        if value is None:
            return default
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _invalid(f"{name} is not a list of strings")
        return tuple(value)

    return ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=url("authorization_endpoint"),
        token_endpoint=url("token_endpoint"),
        jwks_uri=url("jwks_uri"),
        userinfo_endpoint=optional_url("userinfo_endpoint"),
        end_session_endpoint=optional_url("end_session_endpoint"),
        id_token_signing_alg_values_supported=strings("id_token_signing_alg_values_supported"),
        authorization_response_iss_parameter_supported=flag(
            "authorization_response_iss_parameter_supported"
        ),
        token_endpoint_auth_methods_supported=strings(
            "token_endpoint_auth_methods_supported", ("client_secret_basic",)
        ),
        code_challenge_methods_supported=strings("code_challenge_methods_supported"),
        scopes_supported=strings("scopes_supported"),
        response_types_supported=strings("response_types_supported"),
        backchannel_logout_supported=flag("backchannel_logout_supported"),
        backchannel_logout_session_supported=flag("backchannel_logout_session_supported"),
    )


def _is_url(value: str, require_https: bool) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    schemes = ("https",) if require_https else ("https", "http")
    return parts.scheme in schemes and bool(parts.hostname) and not parts.fragment


def _invalid(detail: str) -> OidcError:
    return OidcError("metadata_invalid", detail, "discovery")
