"""Signing in to the operator console (``/admin/login``): an email and password, then a TOTP
code (RFC 6238), each refused the same way whether or not the account exists; growing delays
per account and client address and a per-address rate limit (:mod:`propylon.admin.operators`),
so a refused attempt writes nothing to the database.

Between the two steps the browser holds a sealed, five-minute cookie naming the operator
(``propylon_console_mfa``, AES-GCM under a subkey of the server secret); after the code, the
session cookie ``propylon_console`` (``Path=/admin``, ``HttpOnly``, ``SameSite=Strict``,
``Secure`` over https) whose session is checked in the database on every request and revoked
there at sign-out. Every console page depends on :func:`console_session`: without a live
session it answers 302 to the sign-in page."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from propylon.admin import operators
from propylon.api.authorize import too_many_sign_ins
from propylon.api.csrf import csrf_of, set_csrf_cookie
from propylon.api.oauth_adapter import runtime_of
from propylon.api.pages import render
from propylon.api.password_forms import caller, checked_form, throttled_page
from propylon.crypto.secretbox import SecretBoxError, open_expiring, seal_expiring
from propylon.operators.console_sessions import Signed
from propylon.runtime import Runtime

router = APIRouter(tags=["console"], include_in_schema=False)
CONSOLE_COOKIE = "propylon_console"
MFA_COOKIE = "propylon_console_mfa"
LOGIN = "/admin/login"
CODE = "/admin/login/code"
HOME = "/admin"
_MFA_PURPOSE = "console-mfa"
INCORRECT = "The email address or password is incorrect."
WRONG_CODE = "The code is not right, or it was used already. Enter the newest code of your app."


class ConsoleSignInRequired(Exception):
    """No live console session: the page answers with the way to the sign-in page."""


def _secure(rt: Runtime) -> bool:
    return rt.settings.public_url.lower().startswith("https://")


def _set(response: Response, rt: Runtime, name: str, value: str, max_age: int, path: str) -> None:
    same: Literal["strict"] = "strict"
    response.set_cookie(
        name, value, max_age=max_age, path=path, httponly=True, samesite=same, secure=_secure(rt)
    )


async def current_session(request: Request) -> Signed | None:
    token = request.cookies.get(CONSOLE_COOKIE)
    if not token:
        return None
    return await operators.session_of(runtime_of(request), token)


async def console_session(request: Request) -> Signed:
    """The dependency of every console page."""
    signed = await current_session(request)
    if signed is None:
        raise ConsoleSignInRequired()
    return signed


def install_console_errors(app: FastAPI) -> None:
    async def to_sign_in(request: Request, exc: Exception) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        back = local_next(target) if request.method == "GET" and target != HOME else None
        where = f"{LOGIN}?{urlencode({'next': back})}" if back else LOGIN
        return RedirectResponse(where, status_code=302, headers={"Cache-Control": "no-store"})

    app.add_exception_handler(ConsoleSignInRequired, to_sign_in)


def local_next(value: str | None) -> str | None:
    """``value`` only if it is a console page of this site to return to after signing in
    (no other host, scheme or path: no open redirect), else ``None``."""
    if not value or len(value) > 2000 or not value.startswith("/admin"):
        return None
    if value.startswith(("//", "/admin/login", "/admin/logout", "/admin/sso")):
        return None
    if any(c in value for c in "\\\r\n\t") or not value.isascii() or not value.isprintable():
        return None
    rest = value[len("/admin") :]
    return value if rest == "" or rest[0] in "/?" else None


@dataclass(frozen=True)
class LoginField:
    id: str
    label: str
    type: str
    autocomplete: str
    value: str = ""
    error: str | None = None
    hint: str | None = None
    inputmode: str | None = None


def _login_page(
    request: Request,
    *,
    title: str,
    action: str,
    fields: list[LoginField],
    button: str,
    message: str | None = None,
    links: list[tuple[str, str]] | None = None,
    status: int = 200,
    next_page: str | None = None,
) -> Response:
    rt = runtime_of(request)
    token, fresh = csrf_of(rt.secret_box.subkeys).issue(request)
    response = render(
        "console/login.html",
        status,
        title=title,
        action=action,
        fields=fields,
        button=button,
        message=message,
        links=links or [],
        errors=[(f.id, f.error) for f in fields if f.error],
        csrf=token,
        sso=bool(rt.settings.console_sso_tenant) and action == LOGIN,
        next_page=next_page,
    )
    set_csrf_cookie(response, fresh, rt.settings.public_url)
    response.headers["X-Frame-Options"] = "DENY"
    return response


def _password_form(
    request: Request,
    email: str = "",
    problem: str = "",
    status: int = 200,
    message: str | None = None,
    next_page: str | None = None,
) -> Response:
    return _login_page(
        request,
        title="Sign in to the console",
        action=LOGIN,
        fields=[
            LoginField("email", "Email address", "email", "username", email),
            LoginField("password", "Password", "password", "current-password", "", problem or None),
        ],
        button="Continue",
        message=message,
        status=status,
        next_page=next_page,
    )


def _code_form(request: Request, problem: str = "", status: int = 200) -> Response:
    return _login_page(
        request,
        title="Enter your authentication code",
        action=CODE,
        message="Open your authenticator app and enter the 6-digit code it shows for the console.",
        fields=[
            LoginField(
                "code",
                "Authentication code",
                "text",
                "one-time-code",
                error=problem or None,
                hint="6 digits",
                inputmode="numeric",
            )
        ],
        button="Sign in",
        links=[(LOGIN, "Start again")],
        status=status,
    )


def _throttled(retry_after: int) -> Response:
    return throttled_page(retry_after, what="wrong attempts", back=LOGIN)


def _mfa_operator(request: Request) -> str | None:
    found = _mfa(request)
    return found[0] if found else None


def _mfa(request: Request) -> tuple[str, str | None] | None:
    sealed = request.cookies.get(MFA_COOKIE, "")
    if len(sealed) > 512:
        return None
    rt = runtime_of(request)
    try:
        doc = json.loads(open_expiring(rt.secret_box, sealed, _MFA_PURPOSE, rt.clock().timestamp()))
    except (SecretBoxError, ValueError):
        return None
    operator_id = doc.get("op") if isinstance(doc, dict) else None
    if not isinstance(operator_id, str):
        return None
    back = doc.get("next")
    return operator_id, local_next(back) if isinstance(back, str) else None


@router.get(LOGIN)
async def login_page(request: Request) -> Response:
    if await current_session(request) is not None:
        return RedirectResponse(HOME, status_code=303)
    out = "You are signed out." if request.query_params.get("signed_out") else None
    back = local_next(request.query_params.get("next"))
    return _password_form(request, message=out, next_page=back)


@router.post(LOGIN)
async def login(request: Request) -> Response:
    form = await checked_form(request)
    if isinstance(form, Response):
        return form
    rt = runtime_of(request)
    limit = rt.settings.password_sign_in_rate_limit_per_minute
    if refused := await too_many_sign_ins(rt, request, "console", limit):
        return refused
    client, _ = caller(request)
    email, password = form.get("email", ""), form.get("password", "")
    next_page = local_next(form.get("next"))
    attempt = await operators.check_password(rt, email, password, client)
    if attempt.retry_after:
        return _throttled(attempt.retry_after)
    if attempt.operator_id is None:
        return _password_form(request, email[:320], INCORRECT, 401, next_page=next_page)
    doc = {"op": attempt.operator_id, "next": next_page}
    expires = int(rt.clock().timestamp()) + operators.MFA_SECONDS
    sealed = seal_expiring(rt.secret_box, json.dumps(doc).encode(), _MFA_PURPOSE, expires)
    response = RedirectResponse(CODE, status_code=303)
    _set(response, rt, MFA_COOKIE, sealed, operators.MFA_SECONDS, LOGIN)
    return response


@router.get(CODE)
async def code_page(request: Request) -> Response:
    if _mfa_operator(request) is None:
        return RedirectResponse(LOGIN, status_code=303)
    return _code_form(request)


@router.post(CODE)
async def code(request: Request) -> Response:
    form = await checked_form(request)
    if isinstance(form, Response):
        return form
    rt = runtime_of(request)
    pending = _mfa(request)
    if pending is None:
        return RedirectResponse(LOGIN, status_code=303)
    operator_id, next_page = pending
    limit = rt.settings.password_sign_in_rate_limit_per_minute
    if refused := await too_many_sign_ins(rt, request, "console", limit):
        return refused
    client, request_id = caller(request)
    attempt, token = await operators.check_totp(
        rt, operator_id, form.get("code", "")[:32], client, request_id
    )
    if attempt.retry_after:
        return _throttled(attempt.retry_after)
    if token is None:
        return _code_form(request, WRONG_CODE, 401)
    return signed_in(rt, token, next_page or HOME)


def set_session_cookie(response: Response, rt: Runtime, token: str) -> None:
    _set(response, rt, CONSOLE_COOKIE, token, rt.settings.console_session_absolute_seconds, HOME)


def signed_in(rt: Runtime, token: str, where: str = HOME) -> Response:
    """To the console with the new session's cookie (the pending second step forgotten)."""
    response = RedirectResponse(where, status_code=303)
    set_session_cookie(response, rt, token)
    response.delete_cookie(MFA_COOKIE, path=LOGIN)
    return response


@router.post("/admin/logout")
async def logout(request: Request) -> Response:
    form = await checked_form(request)
    if isinstance(form, Response):
        return form
    rt = runtime_of(request)
    signed = await current_session(request)
    if signed is not None:
        await operators.sign_out(rt, signed, caller(request)[1])
    response = RedirectResponse(LOGIN + "?signed_out=1", status_code=303)
    response.delete_cookie(CONSOLE_COOKIE, path=HOME)
    return response
