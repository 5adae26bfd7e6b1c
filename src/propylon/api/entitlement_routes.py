"""Management API for entitlements: the platform's catalogue (``/api/v1/entitlements/
catalog``), a tenant's rule set with its dry run and versions (``/api/v1/tenants/{tenant}/
entitlement-rules``), a user's entitlements and a tenant-wide recompute.

The same functions as ``propylon roles …`` (:mod:`propylon.admin.entitlements`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from propylon.admin import entitlements as ops
from propylon.api.http import StandardInputRoute
from propylon.api.mgmt_routes import PROBLEMS, STRICT, Caller, Rt
from propylon.entitlements.model import KINDS

router = APIRouter(
    prefix="/api/v1", tags=["management"], responses=PROBLEMS, route_class=StandardInputRoute
)


class CatalogEntryIn(BaseModel):
    model_config = STRICT
    kind: str = Field(json_schema_extra={"enum": list(KINDS)})
    name: str = Field(min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=1000)


class RuleSetIn(BaseModel):
    """A rule set (``entitlements/rules.py``): ``defaults`` and ``rules``."""

    model_config = STRICT
    defaults: dict[str, Any] | None = Field(
        default=None, description='{"roles": [...], "tier": "…" | null, "programs": [...]}'
    )
    rules: list[dict[str, Any]] = Field(
        default_factory=list,
        description='[{"name", "priority", "when": {"all_groups", "any_groups", '
        '"none_groups", "attributes": [{"attr", "op": "eq|ne|co|sw|pr|in", "value"}]}, '
        '"grant": {"roles", "tier", "programs"}}]',
    )

    def doc(self) -> dict[str, Any]:
        return {"defaults": self.defaults or {}, "rules": self.rules}


@router.get("/entitlements/catalog")
async def list_catalog(
    rt: Rt, _: Caller, kind: str | None = Query(default=None, max_length=16)
) -> list[dict[str, Any]]:
    return await ops.catalog_list(rt, kind)


@router.post("/entitlements/catalog", status_code=201)
async def add_catalog_entry(rt: Rt, caller: Caller, body: CatalogEntryIn) -> dict[str, Any]:
    return await ops.catalog_add(rt, caller, body.kind, body.name, body.description)


@router.delete("/entitlements/catalog/{kind}/{name}")
async def remove_catalog_entry(rt: Rt, caller: Caller, kind: str, name: str) -> dict[str, Any]:
    return await ops.catalog_remove(rt, caller, kind, name)


@router.get("/tenants/{tenant}/entitlement-rules")
async def get_rules(rt: Rt, _: Caller, tenant: str) -> dict[str, Any]:
    return await ops.rules_show(rt, tenant)


@router.put("/tenants/{tenant}/entitlement-rules")
async def put_rules(rt: Rt, caller: Caller, tenant: str, body: RuleSetIn) -> dict[str, Any]:
    return await ops.rules_set(rt, caller, tenant, body.doc())


@router.post("/tenants/{tenant}/entitlement-rules/dry-run")
async def dry_run_rules(rt: Rt, _: Caller, tenant: str, body: RuleSetIn) -> dict[str, Any]:
    return await ops.rules_dry_run(rt, tenant, body.doc())


@router.get("/tenants/{tenant}/entitlement-rules/versions")
async def rule_versions(rt: Rt, _: Caller, tenant: str) -> list[dict[str, Any]]:
    return await ops.rules_history(rt, tenant)


@router.post("/tenants/{tenant}/entitlements/recompute")
async def recompute(rt: Rt, caller: Caller, tenant: str) -> dict[str, Any]:
    return await ops.recompute_tenant(rt, caller, tenant)


@router.get("/tenants/{tenant}/users/{user_id}/entitlements")
async def user_entitlements(rt: Rt, _: Caller, tenant: str, user_id: str) -> dict[str, Any]:
    return await ops.user_entitlements(rt, tenant, user_id)
