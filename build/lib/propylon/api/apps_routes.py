"""Management API for registered apps (OAuth clients): ``/api/v1/apps``, API-key auth.

The same functions as ``propylon app create|list|show|update|revoke``
(:mod:`propylon.admin.apps`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from propylon.admin import apps
from propylon.api.http import StandardInputRoute
from propylon.api.mgmt_routes import NAME_CHARS, PROBLEMS, STRICT, Caller, Rt

router = APIRouter(
    prefix="/api/v1", tags=["management"], responses=PROBLEMS, route_class=StandardInputRoute
)


class AppIn(BaseModel):
    model_config = STRICT
    name: str = Field(examples=["Host platform"], min_length=1, max_length=NAME_CHARS)
    redirect_uris: list[str] = Field(examples=[["https://app.example.com/callback"]], min_length=1)
    post_logout_redirect_uris: list[str] = Field(default_factory=list)
    public: bool = False


@router.post("/apps", status_code=201)
async def create_app(body: AppIn, rt: Rt, actor: Caller) -> dict[str, Any]:
    return await apps.create_app(
        rt,
        actor,
        name=body.name,
        redirect_uris=body.redirect_uris,
        post_logout_redirect_uris=body.post_logout_redirect_uris,
        public=body.public,
    )


@router.get("/apps")
async def list_apps(rt: Rt, _: Caller) -> dict[str, Any]:
    return {"data": await apps.list_apps(rt)}


class AppPatch(BaseModel):
    """Only the fields given change; a list of URIs replaces the old list whole."""

    model_config = STRICT
    name: str | None = Field(default=None, min_length=1, max_length=255)
    redirect_uris: list[str] | None = Field(default=None, min_length=1, max_length=100)
    post_logout_redirect_uris: list[str] | None = Field(default=None, max_length=100)


@router.get("/apps/{client_id}")
async def show_app(client_id: str, rt: Rt, _: Caller) -> dict[str, Any]:
    return await apps.show_app(rt, client_id)


@router.patch("/apps/{client_id}")
async def update_app(client_id: str, body: AppPatch, rt: Rt, actor: Caller) -> dict[str, Any]:
    """Rename the app or replace its redirect URIs."""
    return await apps.update_app(
        rt,
        actor,
        client_id,
        name=body.name,
        redirect_uris=body.redirect_uris,
        post_logout_redirect_uris=body.post_logout_redirect_uris,
    )


@router.delete("/apps/{client_id}")
async def revoke_app(client_id: str, rt: Rt, actor: Caller) -> dict[str, Any]:
    return await apps.revoke_app(rt, actor, client_id)
