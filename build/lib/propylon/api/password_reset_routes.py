"""Password reset by an emailed link and change by the signed-in person (``/password/reset``,
``/password/reset/confirm``, ``/password/change``). Asking for a reset link answers the same
whatever the address (the work that depends on it runs after the answer); setting a new
password, either way, ends every session of the person (their revocation epoch goes up)."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import Response

from propylon.api.oauth_adapter import runtime_of
from propylon.api.pages import page
from propylon.api.password_forms import (
    BAD_EMAIL,
    SIGN_IN,
    Field,
    after_answer,
    caller,
    checked_form,
    form_page,
    limited_form,
    link_invalid_page,
    mailing_form,
    throttled_page,
)
from propylon.passwords.sp800_63b import PasswordRefused as Weak
from propylon.passwords.sp800_63b import check_new_password
from propylon.passwords.store import peek_token
from propylon.runtime import Runtime
from propylon.sessions.cookie import set_session_cookie
from propylon.sessions.service import COOKIE_NAME, ActiveSession
from propylon.sessions.store import load_active
from propylon.signin.password_accounts import (
    LinkInvalid,
    change_password,
    confirm_reset,
    request_reset,
)
from propylon.signin.password_sign_in import PasswordRefused

router = APIRouter(tags=["password accounts"], include_in_schema=False)
RESET, CONFIRM, CHANGE = "/password/reset", "/password/reset/confirm", "/password/change"


def _new_password(rt: Runtime, raw: str) -> str:
    st = rt.settings
    return check_new_password(
        raw, min_length=st.password_min_length, max_length=st.password_max_length
    )


def _reset_form(request: Request, email: str = "", error: str | None = None) -> Response:
    return form_page(
        request,
        title="Reset your password",
        action=RESET,
        message="Enter your email address and we will send you a link to choose a new password.",
        fields=[Field("email", "Email address", "email", "email", email, error)],
        button="Send the link",
        links=[(SIGN_IN, "Back to sign-in")],
        status=400 if error else 200,
    )


@router.get(RESET)
async def reset_form(request: Request) -> Response:
    return _reset_form(request)


@router.post(RESET)
async def reset_post(request: Request, background: BackgroundTasks) -> Response:
    read = await mailing_form(request)
    if isinstance(read, Response):
        return read
    _, raw, email = read
    if email is None:
        return _reset_form(request, raw, BAD_EMAIL)
    background.add_task(after_answer, request_reset, runtime_of(request), email)
    return page(
        200,
        "Check your email",
        f"If {email} has an account, we sent it a link to choose a new password.",
        "The message can take a few minutes to arrive. Check your spam folder too.",
        links=[(SIGN_IN, "Back to sign-in")],
    )


def _confirm_form(request: Request, token: str, error: str | None = None) -> Response:
    return form_page(
        request,
        title="Choose a new password",
        action=CONFIRM,
        message="Setting a new password signs you out everywhere.",
        fields=[Field("password", "New password", "password", "new-password", error=error)],
        button="Set password",
        hidden=[("token", token)],
        status=400 if error else 200,
    )


@router.get(CONFIRM)
async def confirm_form(request: Request) -> Response:
    rt = runtime_of(request)
    token = request.query_params.get("token", "")
    async with rt.db.read() as s:
        live = await peek_token(s, token, "reset", rt.clock())
    if live is None:
        return link_invalid_page(RESET, "Ask for a new link")
    return _confirm_form(request, token)


@router.post(CONFIRM)
async def confirm_post(request: Request) -> Response:
    rt = runtime_of(request)
    form = await checked_form(request)
    if isinstance(form, Response):
        return form
    token = form.get("token", "")
    try:
        password = _new_password(rt, form.get("password", ""))
    except Weak as weak:
        return _confirm_form(request, token, str(weak))
    try:
        await confirm_reset(rt, token, password, getattr(request.state, "request_id", None))
    except LinkInvalid:
        return link_invalid_page(RESET, "Ask for a new link")
    return page(
        200,
        "Password changed",
        "Your password is changed and every session of yours has ended.",
        links=[(SIGN_IN, "Sign in")],
    )


async def _signed_in(request: Request) -> ActiveSession | None:
    rt = runtime_of(request)
    async with rt.db.read() as s:
        return await load_active(rt.sessions, s, request.cookies.get(COOKIE_NAME), rt.clock())


def _change_form(
    request: Request, *, current_error: str | None = None, new_error: str | None = None
) -> Response:
    return form_page(
        request,
        title="Change your password",
        action=CHANGE,
        message="Changing your password signs you out everywhere else.",
        fields=[
            Field(
                "current_password",
                "Current password",
                "password",
                "current-password",
                error=current_error,
            ),
            Field("new_password", "New password", "password", "new-password", error=new_error),
        ],
        button="Change password",
        status=400 if current_error or new_error else 200,
    )


def _not_signed_in() -> Response:
    return page(
        401, "Not signed in", "Sign in first to change your password.", links=[(SIGN_IN, "Sign in")]
    )


@router.get(CHANGE)
async def change_form(request: Request) -> Response:
    if await _signed_in(request) is None:
        return _not_signed_in()
    return _change_form(request)


@router.post(CHANGE)
async def change_post(request: Request) -> Response:
    rt = runtime_of(request)
    form = await limited_form(request, "password")
    if isinstance(form, Response):
        return form
    login = await _signed_in(request)
    if login is None:
        return _not_signed_in()
    try:
        new = _new_password(rt, form.get("new_password", ""))
    except Weak as weak:
        return _change_form(request, new_error=str(weak))
    try:
        done = await change_password(
            rt,
            login,
            form.get("current_password", ""),
            new,
            *caller(request),
        )
    except PasswordRefused as refused:
        if refused.reason == "throttled":
            return throttled_page(refused.retry_after)
        if refused.reason == "no_password":
            return page(
                400,
                "No password",
                "Your account signs in without a password.",
                links=[("/", "Home")],
            )
        return _change_form(request, current_error="The current password is incorrect.")
    response = page(
        200, "Password changed", "Your password is changed; your other sessions have ended."
    )
    set_session_cookie(response, done.issued, rt.settings.public_url, rt.clock())
    return response
