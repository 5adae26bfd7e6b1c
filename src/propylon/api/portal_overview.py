"""What the portal's overview shows of its tenant: what is configured (connections and
their certificate expiry, directories, domains) and the next steps, read within
``grant.tenant_id`` only."""

from __future__ import annotations

from typing import Any

from propylon.admin import domains as domain_ops
from propylon.admin import oidc_connections, saml_connections
from propylon.admin import tenants as tenant_ops
from propylon.portal.model import PortalGrant
from propylon.runtime import Runtime


async def overview_facts(rt: Runtime, grant: PortalGrant) -> dict[str, Any]:
    tenant = grant.tenant_id
    saml = await saml_connections.list_connections(rt, tenant) if grant.allows("sso") else []
    oidc = await oidc_connections.list_connections(rt, tenant) if grant.allows("sso") else []
    dirs = await tenant_ops.list_directories(rt, tenant) if grant.allows("scim") else []
    domains = (
        [d.as_dict() for d in await domain_ops.list_domains(rt, tenant)]
        if grant.allows("domains")
        else []
    )
    live = [c for c in saml + oidc if not c.get("disabled")]
    expiring = [c for c in saml if c.get("expiring_soon")]
    steps: list[tuple[str, str, bool]] = []
    if grant.allows("sso"):
        steps.append(("/portal/sso", "Connect your identity provider and test it", bool(live)))
    if grant.allows("domains"):
        verified = any(d.get("verified") for d in domains)
        steps.append(("/portal/domains", "Verify your email domain", verified))
    if grant.allows("scim"):
        steps.append(("/portal/scim", "Provision users with SCIM", bool(dirs)))
    if grant.allows("roles"):
        steps.append(("/portal/roles", "Map groups to roles", False))
    return {
        "saml": saml,
        "oidc": oidc,
        "directories": dirs,
        "domains": domains,
        "expiring": expiring,
        "steps": steps,
    }
