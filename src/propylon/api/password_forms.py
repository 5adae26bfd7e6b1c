"""What the password pages share: the form page (``templates/form.html``: labelled inputs,
an error summary first whose entries link to their fields, ``autocomplete`` values from
WCAG 2.2 SC 1.3.5 / HTML's autofill tokens), reading a bounded form with its CSRF check
(:mod:`propylon.api.csrf`), and the pages that refuse."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from fastapi import Request
from fastapi.responses import Response

from propylon.api.authorize import too_many_sign_ins
from propylon.api.client_address import client_key
from propylon.api.csrf import CSRF_FIELD, csrf_of, set_csrf_cookie
from propylon.api.http import FormTooLarge, read_form
from propylon.api.oauth_adapter import runtime_of
from propylon.api.pages import page, render
from propylon.passwords.store import normalise_email
from propylon.signin.saml_sso import is_local_authorize

log = structlog.get_logger("propylon.password")
MAX_FORM_BYTES = 16_384
SIGN_IN = "/password/sign-in"


@dataclass(frozen=True)
class Field:
    id: str
    label: str
    type: str
    autocomplete: str
    value: str = ""
    error: str | None = None


@dataclass(frozen=True)
class Problem:
    message: str
    field: str | None = None


def form_page(
    request: Request,
    *,
    title: str,
    action: str,
    fields: Sequence[Field],
    button: str,
    message: str | None = None,
    problems: Sequence[Problem] = (),
    hidden: Sequence[tuple[str, str]] = (),
    links: Sequence[tuple[str, str]] = (),
    status: int = 200,
) -> Response:
    rt = runtime_of(request)
    token, fresh = csrf_of(rt.secret_box.subkeys).issue(request)
    errors = [*problems, *(Problem(f.error, f.id) for f in fields if f.error)]
    response = render(
        "form.html",
        status,
        title=title,
        action=action,
        fields=fields,
        button=button,
        message=message,
        errors=errors,
        hidden=[(k, v) for k, v in hidden if v],
        links=links,
        csrf=token,
        max_length=rt.settings.password_max_length,
    )
    set_csrf_cookie(response, fresh, rt.settings.public_url)
    return response


async def checked_form(request: Request) -> dict[str, str] | Response:
    """The POSTed form, or the page refusing it: too large (413), unreadable (400), or
    without this browser's CSRF token (403, with a way back to a fresh form)."""
    rt = runtime_of(request)
    try:
        form = await read_form(request, MAX_FORM_BYTES)
    except FormTooLarge:
        return page(413, "Request too large", "The form sent was too large.")
    except ValueError:
        return page(400, "Form not understood", "The form sent could not be read.")
    if not csrf_of(rt.secret_box.subkeys).check(request, form.get(CSRF_FIELD)):
        return page(
            403,
            "Form expired",
            "This form was not sent from this site's page, or it expired.",
            "Open the form again and send it from there.",
            links=[(request.url.path, "Open the form again")],
        )
    return form


def caller(request: Request) -> tuple[str, str | None]:
    """Who asks: the client address key per-address limits count (``client_key``), and the
    request id the audit entry keeps."""
    rt = runtime_of(request)
    return client_key(request.scope, rt.settings), getattr(request.state, "request_id", None)


async def after_answer(work: Callable[..., Awaitable[None]], *args: Any) -> None:
    """Run ``work`` once the answer is sent (a background task), so how long it takes, and
    whether it fails, tells the person nothing; a failure is logged (its type and text,
    never a link) rather than lost."""
    try:
        await work(*args)
    except Exception as exc:
        log.error(
            "password mail work failed",
            work=work.__name__,
            error=type(exc).__name__,
            detail=str(exc)[:200],
        )


BAD_EMAIL = "Enter an email address like name@example.com."


async def limited_form(request: Request, kind: str) -> dict[str, str] | Response:
    """:func:`checked_form`, counted per client address before anything else is done:
    ``password`` (an attempt at a password) or ``mail`` (a form that sends mail)."""
    form = await checked_form(request)
    if isinstance(form, Response):
        return form
    rt = runtime_of(request)
    st = rt.settings
    limit = (
        st.password_sign_in_rate_limit_per_minute
        if kind == "password"
        else st.password_sign_up_rate_limit_per_minute
    )
    if refused := await too_many_sign_ins(rt, request, f"password-{kind}", limit):
        return refused
    return form


async def mailing_form(request: Request) -> tuple[dict[str, str], str, str | None] | Response:
    """A form that sends mail (sign-up, reset request), limited per client address; with the
    email as typed and normalised (``None``: not an address)."""
    form = await limited_form(request, "mail")
    if isinstance(form, Response):
        return form
    raw = form.get("email", "")[:320]
    return form, raw, normalise_email(raw)


def local_return_to(value: str | None) -> str | None:
    """``return_to`` only if it resumes a local authorization request (no open redirect)."""
    return value if value and len(value) <= 8192 and is_local_authorize(value) else None


def throttled_page(
    retry_after: int,
    *,
    what: str = "wrong passwords",
    back: str = SIGN_IN,
) -> Response:
    """RFC 6585 §4: 429 with ``Retry-After`` (``what`` there were too many of; ``back``: the
    sign-in page to return to)."""
    refused = page(
        429,
        "Too many attempts",
        f"There were too many {what} for this account or from your network.",
        f"Wait {retry_after} seconds, then try again.",
        links=[(back, "Back to sign-in")],
    )
    refused.headers["Retry-After"] = str(max(1, retry_after))
    return refused


def sso_required_page() -> Response:
    return page(
        403,
        "Sign in with your organisation",
        "Your organisation signs its people in through single sign-on, not with a password.",
        "Go back to your application and sign in with your work email.",
        links=[("/", "Home")],
    )


def link_invalid_page(again: str, what: str) -> Response:
    return page(
        400,
        "Link not valid",
        "This link has expired or was used already.",
        links=[(again, what), (SIGN_IN, "Sign in")],
    )
