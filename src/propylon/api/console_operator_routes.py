"""The console's own people: the operators (created, removed and re-enrolled with the CLI,
``propylon operator``) and the open console sessions, each revocable at once."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from propylon import errors
from propylon.admin import operators
from propylon.api.console_pages import console_form, console_message, console_page
from propylon.api.console_routes import Operator
from propylon.api.oauth_adapter import runtime_of

router = APIRouter(tags=["console"], include_in_schema=False)
PATH = "/admin/operators"


@router.get(PATH)
async def operators_page(request: Request, signed: Operator) -> Response:
    rt = runtime_of(request)
    notice = None
    if request.query_params.get("revoked"):
        notice = {"kind": "ok", "text": "The console session is revoked."}
    return console_page(
        request,
        signed,
        "console/operators.html",
        title="Operators",
        current="operators",
        operators=await operators.list_operators(rt),
        sessions=await operators.console_sessions(rt),
        mine=signed.session_id[:16],
        notice=notice,
    )


@router.post(PATH + "/sessions/{prefix}/revoke")
async def revoke(request: Request, prefix: str, signed: Operator) -> Response:
    form = await console_form(request)
    if isinstance(form, Response):
        return form
    try:
        await operators.revoke_console_session(
            runtime_of(request), operators.actor_of(signed), prefix[:32]
        )
    except errors.NotFound:
        return console_message(
            request,
            signed,
            404,
            "Not found",
            "There is no open console session by that id.",
            current="operators",
            back=(PATH, "Back to operators"),
        )
    return RedirectResponse(PATH + "?revoked=1", status_code=303)
