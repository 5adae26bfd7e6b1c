"""Management API for OIDC connections: ``/api/v1/tenants/{tenant}/oidc-connections`` and
``/api/v1/oidc-connections/{id}``.

The same functions as ``propylon oidc …`` (:mod:`propylon.admin.oidc_connections`). Responses
never carry the client secret or private key.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from propylon.admin import oidc_connections as ops
from propylon.api.http import StandardInputRoute
from propylon.api.mgmt_routes import NAME_CHARS, PROBLEMS, STRICT, Caller, Rt
from propylon.tenants import oidc_client_rules as rules
from propylon.tenants.oidc_connection_edits import OidcConnectionChanges
from propylon.tenants.oidc_connections import MATCH_BY, OidcConnectionDraft
from propylon.tenants.oidc_presets import CLAIM_FIELDS, DEFAULT_PRESET, PRESETS

router = APIRouter(
    prefix="/api/v1", tags=["management"], responses=PROBLEMS, route_class=StandardInputRoute
)


def _issuer(default: Any = ...) -> Any:
    return Field(default, max_length=rules.MAX_ISSUER, examples=["https://acme.okta.com"])


def _secret() -> Any:
    return Field(None, max_length=rules.MAX_SECRET, description="Stored sealed, never returned.")


def _key() -> Any:
    return Field(
        None,
        max_length=rules.MAX_KEY_PEM,
        description="PEM private key (RSA of at least 2048 bits, or EC P-256) signing "
        "private_key_jwt client assertions; stored sealed, never returned.",
    )


def _method() -> Any:
    return Field(None, json_schema_extra={"enum": list(rules.AUTH_METHODS)})


def _scopes(default: Any) -> Any:
    return Field(
        default,
        max_length=rules.MAX_SCOPES,
        description="openid is always added; none: openid email profile.",
    )


def _audiences(default: Any) -> Any:
    return Field(
        default,
        max_length=rules.MAX_AUDIENCES,
        description="Audiences besides the client an ID token may name (Core §3.1.3.7).",
    )


def _claim_map() -> Any:
    return Field(
        None, description="User field → claim name(s), over the preset: " + ", ".join(CLAIM_FIELDS)
    )


_PRESETS: dict[str, Any] = {"enum": list(PRESETS)}
_MATCH_BY: dict[str, Any] = {"enum": list(MATCH_BY)}


_RENAMED = {"claim_map": "claim_overrides", "userinfo": "use_userinfo"}


def _renamed(body: dict[str, Any]) -> dict[str, Any]:
    """The body's fields under the names the service takes."""
    return {_RENAMED.get(name, name): value for name, value in body.items()}


class OidcConnectionIn(BaseModel):
    """Give ``client_secret`` or ``private_key_pem``, not both."""

    model_config = STRICT
    issuer: str = _issuer()
    client_id: str = Field(max_length=rules.MAX_CLIENT_ID)
    client_secret: str | None = _secret()
    private_key_pem: str | None = _key()
    auth_method: str | None = _method()
    scopes: list[str] = _scopes([])
    trusted_audiences: list[str] = _audiences([])
    preset: str = Field(default=DEFAULT_PRESET, json_schema_extra=_PRESETS)
    claim_map: dict[str, str | list[str]] | None = _claim_map()
    jit: bool = False
    name: str | None = Field(default=None, max_length=NAME_CHARS)
    match_by: str = Field(default="email", json_schema_extra=_MATCH_BY)
    userinfo: bool = Field(default=False, description="Also read the userinfo endpoint.")

    def draft(self) -> OidcConnectionDraft:
        return OidcConnectionDraft(**_renamed(self.model_dump()))


class OidcConnectionPatch(BaseModel):
    """Only the fields given change; a new ``issuer`` is checked like a new connection's."""

    model_config = STRICT
    issuer: str | None = _issuer(None)
    client_id: str | None = Field(default=None, max_length=rules.MAX_CLIENT_ID)
    client_secret: str | None = _secret()
    private_key_pem: str | None = _key()
    auth_method: str | None = _method()
    scopes: list[str] | None = _scopes(None)
    trusted_audiences: list[str] | None = _audiences(None)
    preset: str | None = Field(default=None, json_schema_extra=_PRESETS)
    claim_map: dict[str, str | list[str]] | None = _claim_map()
    jit: bool | None = None
    name: str | None = Field(default=None, max_length=NAME_CHARS)
    match_by: str | None = Field(default=None, json_schema_extra=_MATCH_BY)
    userinfo: bool | None = None
    disabled: bool | None = Field(default=None, description="true: no sign-in through it.")

    def changes(self) -> OidcConnectionChanges:
        return OidcConnectionChanges(**_renamed(self.model_dump()))


@router.post("/tenants/{tenant}/oidc-connections", status_code=201)
async def create_oidc_connection(
    tenant: str, body: OidcConnectionIn, rt: Rt, actor: Caller
) -> dict[str, Any]:
    """Connect the tenant's OpenID Provider (its discovery document is checked first); the
    answer names the redirect and back-channel logout URIs to register there."""
    return await ops.create_connection(rt, actor, tenant, body.draft())


@router.get("/tenants/{tenant}/oidc-connections")
async def list_oidc_connections(tenant: str, rt: Rt, _: Caller) -> dict[str, Any]:
    return {"data": await ops.list_connections(rt, tenant)}


@router.get("/oidc-connections/{connection_id}")
async def show_oidc_connection(connection_id: str, rt: Rt, _: Caller) -> dict[str, Any]:
    """One connection: provider, client, scopes, claim map, URLs, disabled or not."""
    return await ops.show_connection(rt, connection_id)


@router.patch("/oidc-connections/{connection_id}")
async def update_oidc_connection(
    connection_id: str, body: OidcConnectionPatch, rt: Rt, actor: Caller
) -> dict[str, Any]:
    """Change the provider, credential, scopes, claim map or options; disable or enable."""
    return await ops.update_connection(rt, actor, connection_id, body.changes())


@router.delete("/oidc-connections/{connection_id}", status_code=204)
async def delete_oidc_connection(connection_id: str, rt: Rt, actor: Caller) -> Response:
    """Delete the connection (its users stay; domains bound to it are unbound)."""
    await ops.delete_connection(rt, actor, connection_id)
    return Response(status_code=204)
