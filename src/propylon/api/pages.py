"""Plain HTML pages for people (sign-in prompts and errors): Jinja2, autoescaped, not cached.
A person sees what happened in plain words; the reason an admin needs is in the audit trail."""

from __future__ import annotations

from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

_templates = Environment(
    loader=PackageLoader("propylon.api", "templates"), autoescape=select_autoescape()
)


def render(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Any template of ``api/templates`` as an uncached page."""
    html = _templates.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def page(
    status: int,
    title: str,
    message: str,
    detail: str | None = None,
    form: dict[str, Any] | None = None,
    *,
    request_id: str | None = None,
    links: list[tuple[str, str]] | None = None,
) -> HTMLResponse:
    """``request_id``: shown so a person can quote it and an administrator find the audit
    entry that says why (its ``request_id``); ``links``: (href, text) ways on."""
    return render(
        "page.html",
        status,
        title=title,
        message=message,
        detail=detail,
        form=form,
        request_id=request_id,
        links=links,
    )


def confirm_page(
    title: str,
    message: str,
    *,
    action: str,
    hidden: list[tuple[str, str]],
    button: str,
) -> HTMLResponse:
    """A page asking the person to confirm an action with one button: a POST form to
    ``action`` carrying ``hidden`` (the caller puts its anti-forgery token there)."""
    confirm = {"action": action, "hidden": hidden, "button": button}
    return render(
        "page.html", title=title, message=message, detail=None, form=None, confirm=confirm
    )
