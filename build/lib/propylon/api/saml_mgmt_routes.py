"""Management API for SAML connections: ``/api/v1/tenants/{tenant}/saml-connections``.

The same functions as ``propylon saml …`` (:mod:`propylon.admin.saml_connections`).
"""

from __future__ import annotations

from typing import Any

from cryptography import x509
from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from propylon.admin import saml_connections as ops
from propylon.api.http import StandardInputRoute
from propylon.api.mgmt_routes import NAME_CHARS, PROBLEMS, STRICT, Caller, Rt
from propylon.errors import InvalidInput
from propylon.tenants.attribute_maps import DEFAULT_PRESET, FIELDS, PRESETS
from propylon.tenants.saml_connection_edits import ConnectionChanges
from propylon.tenants.saml_connections import MATCH_BY, IdpSource

router = APIRouter(
    prefix="/api/v1", tags=["management"], responses=PROBLEMS, route_class=StandardInputRoute
)


class SamlConnectionIn(BaseModel):
    model_config = STRICT
    metadata_xml: str | None = Field(default=None, description="IdP metadata document.")
    metadata_url: str | None = Field(default=None, description="IdP metadata URL (refreshed).")
    sso_url: str | None = None
    idp_entity_id: str | None = None
    certificates_pem: list[str] = Field(default_factory=list)
    sp_entity_id: str | None = Field(default=None, max_length=512)
    name: str | None = Field(default=None, max_length=NAME_CHARS)
    allow_idp_initiated: bool = False
    idp_initiated_app: str | None = Field(
        default=None,
        description="client_id of the app IdP-initiated logins land in "
        "(default: the only confidential app, refused if there are several).",
    )
    jit: bool = False
    preset: str = Field(default=DEFAULT_PRESET, json_schema_extra={"enum": list(PRESETS)})
    attribute_map: dict[str, str | list[str]] | None = Field(
        default=None,
        description="User field → IdP attribute name(s), over the preset: " + ", ".join(FIELDS),
    )
    match_by: str = Field(default="email", json_schema_extra={"enum": list(MATCH_BY)})

    def source(self) -> IdpSource:
        if self.metadata_xml is not None:
            return IdpSource(metadata_xml=self.metadata_xml.encode())
        if self.metadata_url is not None:
            return IdpSource(metadata_url=self.metadata_url)
        try:
            certs = tuple(x509.load_pem_x509_certificate(p.encode()) for p in self.certificates_pem)
        except ValueError:
            raise InvalidInput("certificates_pem must hold PEM certificates") from None
        return IdpSource(sso_url=self.sso_url, idp_entity_id=self.idp_entity_id, certificates=certs)


@router.post("/tenants/{tenant}/saml-connections", status_code=201)
async def create_connection(
    tenant: str, body: SamlConnectionIn, rt: Rt, actor: Caller
) -> dict[str, Any]:
    return await ops.create_connection(
        rt,
        actor,
        tenant,
        body.source(),
        name=body.name,
        sp_entity_id=body.sp_entity_id,
        allow_idp_initiated=body.allow_idp_initiated,
        jit=body.jit,
        preset=body.preset,
        match_by=body.match_by,
        idp_initiated_app=body.idp_initiated_app,
        attribute_overrides=body.attribute_map,
    )


@router.get("/tenants/{tenant}/saml-connections")
async def list_connections(tenant: str, rt: Rt, _: Caller) -> dict[str, Any]:
    return {"data": await ops.list_connections(rt, tenant)}


class SamlConnectionPatch(BaseModel):
    """Only the fields given change. New IdP settings: ``metadata_xml``, ``metadata_url``,
    or ``sso_url`` + ``idp_entity_id`` + ``certificates_pem``."""

    model_config = STRICT
    metadata_xml: str | None = None
    metadata_url: str | None = None
    sso_url: str | None = None
    idp_entity_id: str | None = None
    certificates_pem: list[str] | None = None
    name: str | None = Field(default=None, max_length=255)
    allow_idp_initiated: bool | None = None
    idp_initiated_app: str | None = Field(default=None, description="'' clears it.")
    jit: bool | None = None
    preset: str | None = Field(default=None, json_schema_extra={"enum": list(PRESETS)})
    attribute_map: dict[str, str | list[str]] | None = None
    match_by: str | None = Field(default=None, json_schema_extra={"enum": list(MATCH_BY)})
    disabled: bool | None = Field(default=None, description="true: no sign-in or logout.")

    def changes(self) -> ConnectionChanges:
        given = (self.metadata_xml, self.metadata_url, self.sso_url, self.idp_entity_id)
        source = None
        if any(v is not None for v in given) or self.certificates_pem is not None:
            source = SamlConnectionIn(
                metadata_xml=self.metadata_xml,
                metadata_url=self.metadata_url,
                sso_url=self.sso_url,
                idp_entity_id=self.idp_entity_id,
                certificates_pem=self.certificates_pem or [],
            ).source()
        return ConnectionChanges(
            name=self.name,
            source=source,
            allow_idp_initiated=self.allow_idp_initiated,
            idp_initiated_app=self.idp_initiated_app,
            jit=self.jit,
            match_by=self.match_by,
            preset=self.preset,
            attribute_overrides=self.attribute_map,
            disabled=self.disabled,
        )


@router.get("/saml-connections/{connection_id}")
async def show_connection(connection_id: str, rt: Rt, _: Caller) -> dict[str, Any]:
    """One connection: IdP, SP values, mapping, certificate expiry, disabled or not."""
    return await ops.show_connection(rt, connection_id)


@router.patch("/saml-connections/{connection_id}")
async def update_connection(
    connection_id: str, body: SamlConnectionPatch, rt: Rt, actor: Caller
) -> dict[str, Any]:
    """Change IdP settings, options or the attribute mapping; disable or enable."""
    return await ops.update_connection(rt, actor, connection_id, body.changes())


@router.delete("/saml-connections/{connection_id}", status_code=204)
async def delete_connection(connection_id: str, rt: Rt, actor: Caller) -> Response:
    """Delete the connection (its users stay; domains bound to it are unbound)."""
    await ops.delete_connection(rt, actor, connection_id)
    return Response(status_code=204)
