"""Password sign-in, sign-up and email verification pages (``/password/...``), usable without
JavaScript; every POST carries this browser's CSRF token (:mod:`propylon.api.csrf`).

A sign-in resumes the authorization request ``return_to`` names (a local
``/oauth2/authorize?...`` URL: :func:`propylon.api.authorize.resume`), or says the person is
signed in. Refusals of an unknown email and of a wrong password are the same page (status and
body), after the same work (:mod:`propylon.signin.password_sign_in`)."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import Response

from propylon.api import authorize
from propylon.api.oauth_adapter import runtime_of
from propylon.api.pages import page
from propylon.api.password_forms import (
    BAD_EMAIL,
    SIGN_IN,
    Field,
    Problem,
    after_answer,
    caller,
    form_page,
    limited_form,
    link_invalid_page,
    local_return_to,
    mailing_form,
    sso_required_page,
    throttled_page,
)
from propylon.passwords.sp800_63b import PasswordRefused as Weak
from propylon.passwords.sp800_63b import check_new_password
from propylon.passwords.store import tenant_for
from propylon.runtime import Runtime
from propylon.sessions.cookie import set_session_cookie
from propylon.signin.password_accounts import (
    AccountNotCreated,
    LinkInvalid,
    sign_up,
    verify_sign_up,
)
from propylon.signin.password_sign_in import PasswordLogin, PasswordRefused, sign_in

router = APIRouter(tags=["password accounts"], include_in_schema=False)
SIGN_UP_COOKIE = "propylon_signup"
INCORRECT = "The email address or password is incorrect."


def _email_field(value: str = "", error: str | None = None) -> Field:
    return Field("email", "Email address", "email", "email", value, error)


def _sign_in_form(
    request: Request, email: str, return_to: str | None, status: int = 200, problem: str = ""
) -> Response:
    problems = [Problem(problem, "password")] if problem else []
    return form_page(
        request,
        title="Sign in",
        action=SIGN_IN,
        fields=[_email_field(email), Field("password", "Password", "password", "current-password")],
        button="Sign in",
        problems=problems,
        hidden=[("return_to", return_to or "")],
        links=[
            ("/password/reset", "Forgot your password?"),
            ("/password/sign-up", "Create an account"),
        ],
        status=status,
    )


async def signed_in(rt: Runtime, done: PasswordLogin, return_to: str | None) -> Response:
    """Back to the app with its code, or a page; with the session cookie either way."""
    if return_to:
        response = await authorize.resume(rt, return_to, done.login)
    else:
        response = page(
            200,
            "Signed in",
            f"You are signed in as {done.login.user.email}.",
            links=[("/password/change", "Change your password")],
        )
    set_session_cookie(response, done.issued, rt.settings.public_url, rt.clock())
    return response


@router.get(SIGN_IN)
async def sign_in_form(request: Request) -> Response:
    q = request.query_params
    return _sign_in_form(request, q.get("email", "")[:320], local_return_to(q.get("return_to")))


@router.post(SIGN_IN)
async def sign_in_post(request: Request) -> Response:
    rt = runtime_of(request)
    form = await limited_form(request, "password")
    if isinstance(form, Response):
        return form
    email, return_to = form.get("email", "")[:320], local_return_to(form.get("return_to"))
    try:
        done = await sign_in(
            rt,
            email,
            form.get("password", ""),
            *caller(request),
        )
    except PasswordRefused as refused:
        if refused.reason == "throttled":
            return throttled_page(refused.retry_after)
        if refused.reason == "sso_required":
            return sso_required_page()
        return _sign_in_form(request, email, return_to, 400, INCORRECT)
    return await signed_in(rt, done, return_to)


def _sign_up_form(
    request: Request,
    email: str = "",
    return_to: str | None = None,
    *,
    email_error: str | None = None,
    password_error: str | None = None,
) -> Response:
    rt = runtime_of(request)
    status = 400 if email_error or password_error else 200
    return form_page(
        request,
        title="Create an account",
        action="/password/sign-up",
        message=f"Choose a password of at least {rt.settings.password_min_length} characters. "
        "Long phrases are good; common and leaked passwords are refused.",
        fields=[
            _email_field(email, email_error),
            Field("password", "Password", "password", "new-password", error=password_error),
        ],
        button="Create account",
        hidden=[("return_to", return_to or "")],
        links=[(SIGN_IN, "I already have an account")],
        status=status,
    )


@router.get("/password/sign-up")
async def sign_up_form(request: Request) -> Response:
    return _sign_up_form(request, return_to=local_return_to(request.query_params.get("return_to")))


@router.post("/password/sign-up")
async def sign_up_post(request: Request, background: BackgroundTasks) -> Response:
    rt = runtime_of(request)
    read = await mailing_form(request)
    if isinstance(read, Response):
        return read
    form, raw, email = read
    return_to = local_return_to(form.get("return_to"))
    if email is None:
        return _sign_up_form(request, raw, return_to, email_error=BAD_EMAIL)
    st = rt.settings
    try:
        password = check_new_password(
            form.get("password", ""),
            min_length=st.password_min_length,
            max_length=st.password_max_length,
        )
    except Weak as weak:
        return _sign_up_form(request, raw, return_to, password_error=str(weak))
    async with rt.db.read() as s:
        choice = await tenant_for(s, email)
    if not choice.allows_password:
        return sso_required_page()
    browser = request.cookies.get(SIGN_UP_COOKIE, "")
    if not 20 <= len(browser) <= 64:
        browser = secrets.token_urlsafe(32)
    # The rest depends on whether the address has an account: after the answer (no timing).
    background.add_task(after_answer, sign_up, rt, email, password, browser, return_to)
    response = page(
        200,
        "Check your email",
        f"We sent a message to {email}. Follow the link in it to finish.",
        "The message can take a few minutes to arrive. Check your spam folder too.",
        links=[(SIGN_IN, "Sign in")],
    )
    response.set_cookie(
        SIGN_UP_COOKIE,
        browser,
        max_age=st.password_verify_link_lifetime_seconds,
        path="/password/verify",
        httponly=True,
        samesite="lax",
        secure=st.public_url.lower().startswith("https://"),
    )
    return response


def _verify_form(request: Request, token: str, status: int = 200, problem: str = "") -> Response:
    return form_page(
        request,
        title="Confirm your email address",
        action="/password/verify",
        message="This link was opened in another browser than the one you signed up in. "
        "Enter the password you chose to finish.",
        fields=[Field("password", "Password", "password", "current-password")],
        button="Confirm",
        problems=[Problem(problem, "password")] if problem else [],
        hidden=[("token", token)],
        status=status,
    )


async def _verify(request: Request, token: str, password: str | None) -> Response:
    rt = runtime_of(request)
    client, request_id = caller(request)
    browser = request.cookies.get(SIGN_UP_COOKIE)
    try:
        done = await verify_sign_up(rt, token, browser, password, client, request_id)
    except LinkInvalid:
        return link_invalid_page("/password/sign-up", "Sign up again")
    except AccountNotCreated:
        return page(
            409,
            "Account not created",
            "Your organisation cannot take a new account for this address right now.",
            "Ask your IT administrator (the organisation may have no seat left).",
            links=[(SIGN_IN, "Sign in")],
        )
    except PasswordRefused as refused:
        if refused.reason == "throttled":
            return throttled_page(refused.retry_after)
        if refused.reason == "password_needed":
            return _verify_form(request, token)
        return _verify_form(request, token, 400, "The password is not the one chosen at sign-up.")
    if done.login is None:
        return page(
            200,
            "Email address confirmed",
            "Your address is confirmed. Sign in to continue.",
            links=[(SIGN_IN, "Sign in")],
        )
    return await signed_in(rt, done.login, local_return_to(done.return_to))


@router.get("/password/verify")
async def verify_get(request: Request) -> Response:
    return await _verify(request, request.query_params.get("token", ""), None)


@router.post("/password/verify")
async def verify_post(request: Request) -> Response:
    form = await limited_form(request, "password")
    if isinstance(form, Response):
        return form
    return await _verify(request, form.get("token", ""), form.get("password", ""))
