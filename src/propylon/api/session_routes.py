"""Management API for sign-in sessions: ``/api/v1/sessions`` and
``/api/v1/users/{user_id}/revoke-sessions``, API-key auth.

The same functions as ``propylon sessions list|revoke`` (:mod:`propylon.admin.sessions`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from propylon.admin import sessions
from propylon.api.http import StandardInputRoute
from propylon.api.mgmt_routes import PROBLEMS, Caller, Rt

router = APIRouter(
    prefix="/api/v1", tags=["management"], responses=PROBLEMS, route_class=StandardInputRoute
)


@router.get("/sessions")
async def list_sessions(
    rt: Rt,
    _: Caller,
    user: Annotated[str, Query(description="The user whose active sessions to list.")],
) -> dict[str, Any]:
    """The user's active sign-in sessions, oldest first."""
    return {"data": await sessions.list_sessions(rt, user)}


@router.get("/sessions/{session_id}")
async def get_session(session_id: str, rt: Rt, _: Caller) -> dict[str, Any]:
    """A session by its id (the ``sid`` claim), active or not."""
    return await sessions.show_session(rt, session_id)


@router.delete("/sessions/{session_id}")
async def revoke_session(session_id: str, rt: Rt, actor: Caller) -> dict[str, Any]:
    """End the session and its token families (event ``session.revoked``, reason
    ``admin``); ``revoked`` is false when it had ended already."""
    return await sessions.revoke_session(rt, actor, session_id)


@router.post("/users/{user_id}/revoke-sessions")
async def revoke_user_sessions(user_id: str, rt: Rt, actor: Caller) -> dict[str, Any]:
    """End every session of the user for good, and their token families (event
    ``user.sessions_revoked``, reason ``admin``); the user can sign in again."""
    return await sessions.revoke_user_sessions(rt, actor, user_id)
