"""The authorization request of the code flow (OpenID Connect Core §3.1.2.1, RFC 6749
§4.1.1, PKCE RFC 7636 §4.3) and the RFC 9207 check of the response's ``iss``."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from propylon.oidc.errors import OidcError
from propylon.oidc.metadata import ProviderMetadata


def authorization_url(
    meta: ProviderMetadata,
    *,
    client_id: str,
    redirect_uri: str,
    scopes: list[str] | tuple[str, ...],
    state: str,
    nonce: str,
    code_challenge: str,
    prompt: str | None = None,
    login_hint: str | None = None,
    max_age: int | None = None,
) -> str:
    """Where to send the browser: ``response_type=code``, ``scope`` with ``openid`` first
    (Core §3.1.2.1: without it the request is not OpenID Connect), ``state``, ``nonce``
    (Core §3.1.2.1, checked in the ID token: §3.1.3.7 step 11) and the S256
    ``code_challenge``. A query the endpoint already has is kept (RFC 6749 §3.1), except
    for parameters set here, which are never sent twice."""
    wanted = ["openid", *(s for s in scopes if s != "openid")]
    params: dict[str, str] = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(dict.fromkeys(wanted)),
        "state": state,
        "nonce": nonce,
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
    }
    if prompt is not None:
        params["prompt"] = prompt
    if login_hint is not None:
        params["login_hint"] = login_hint
    if max_age is not None:
        params["max_age"] = str(max_age)
    parts = urlsplit(meta.authorization_endpoint)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunsplit(parts._replace(query=urlencode([*kept, *params.items()])))


def check_iss_parameter(meta: ProviderMetadata, iss: str | None) -> None:
    """RFC 9207 §2.4: a provider that announces ``authorization_response_iss_parameter_
    supported`` must send ``iss``; an ``iss`` that is sent must be the issuer the request
    went to, whatever the metadata says (it is how a response from another tenant's IdP,
    a mix-up, is told apart: RFC 9207 §1, RFC 9700 §4.4)."""
    if iss is None:
        if meta.authorization_response_iss_parameter_supported:
            raise OidcError(
                "iss_missing",
                "the authorization response has no iss though the provider sends one",
                "authorization_response",
            )
        return
    if iss != meta.issuer:
        raise OidcError(
            "issuer_mismatch",
            "the authorization response comes from another issuer",
            "authorization_response",
            {"expected": meta.issuer, "found": iss[:200]},
        )
