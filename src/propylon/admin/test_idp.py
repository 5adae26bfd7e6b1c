"""The test IdP as the service layer sees it: a tenant connected to it (the setup portal's
"Use Propylon's test IdP" and ``propylon demo``), and the connections its routes answer
(read through :mod:`propylon.testidp.connections`, whose rule says which)."""

from __future__ import annotations

import secrets
from typing import Any, Literal

from propylon.admin import oidc_connections as oidc_ops
from propylon.admin import saml_connections as saml_ops
from propylon.audit import Actor
from propylon.runtime import Runtime
from propylon.tenants.oidc_connections import OidcConnectionDraft
from propylon.tenants.saml_connections import IdpSource
from propylon.testidp import connections as answered
from propylon.testidp.identity import CLIENT_PREFIX, oidc_issuer, saml_entity_id, saml_identity
from propylon.testidp.identity import test_client_secret as client_secret
from propylon.testidp.saml_response import Person

__all__ = ["NAME", "answered_oidc", "answered_saml", "connect_test_idp"]

NAME = "Propylon test IdP"


async def connect_test_idp(
    rt: Runtime,
    actor: Actor,
    tenant_ref: str,
    protocol: Literal["saml", "oidc"],
    *,
    connection_id: str | None = None,
    disabled: bool = True,
    name: str | None = None,
    jit: bool = True,
) -> dict[str, Any]:
    """A connection of the tenant to the test IdP (SAML: its metadata taken in-process, no
    URL fetched; OIDC: a ``test-client-…`` client whose secret the test provider derives),
    a draft unless ``disabled=False`` (refused but for the demo tenant with the demo
    enabled). Returns the connection's view."""
    if protocol == "saml":
        idp = await saml_identity(rt)
        return await saml_ops.create_connection(
            rt,
            actor,
            tenant_ref,
            IdpSource(metadata_xml=idp.metadata_xml),
            name=name or f"{NAME} (SAML)",
            jit=jit,
            preset="generic",
            disabled=disabled,
            connection_id=connection_id,
        )
    client_id = CLIENT_PREFIX + secrets.token_hex(8)
    draft = OidcConnectionDraft(
        issuer=oidc_issuer(rt.settings.public_url),
        client_id=client_id,
        client_secret=client_secret(rt, client_id),
        name=name or f"{NAME} (OIDC)",
        jit=jit,
        connection_id=connection_id,
        disabled=disabled,
    )
    return await oidc_ops.create_connection(rt, actor, tenant_ref, draft)


async def answered_saml(
    rt: Runtime, connection_id: str
) -> tuple[answered.TrustingConnection | None, list[Person]]:
    """The SAML connection the test IdP answers by that id (or None) and the people the
    picker may suggest."""
    entity_id = saml_entity_id(rt.settings.public_url)
    async with rt.db.read() as s:
        conn = await answered.trusting_connection(
            s, connection_id, entity_id, demo_enabled=rt.settings.demo_enabled
        )
        people = await answered.suggestions(s, conn.tenant_id, demo=conn.demo) if conn else []
    return conn, people


async def answered_oidc(
    rt: Runtime, connection_id: str, client_id: str
) -> tuple[answered.TrustingOidcConnection | None, list[Person]]:
    """The OIDC connection the test OpenID Provider answers as client ``client_id`` (or
    None) and the people the picker may suggest."""
    issuer = oidc_issuer(rt.settings.public_url)
    async with rt.db.read() as s:
        conn = await answered.trusting_oidc_connection(
            s, connection_id, issuer, client_id, demo_enabled=rt.settings.demo_enabled
        )
        people = await answered.suggestions(s, conn.tenant_id, demo=conn.demo) if conn else []
    return conn, people
