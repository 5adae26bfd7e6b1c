"""Plain HTML pages for people (sign-in prompts and errors): Jinja2, autoescaped, not cached.
A person sees what happened in plain words; the reason an admin needs is in the audit trail."""

from __future__ import annotations

from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

_templates = Environment(
    loader=PackageLoader("propylon.api", "templates"), autoescape=select_autoescape()
)


def page(
    status: int,
    title: str,
    message: str,
    detail: str | None = None,
    form: dict[str, Any] | None = None,
    *,
    request_id: str | None = None,
) -> HTMLResponse:
    """``request_id``: shown so a person can quote it and an administrator find the audit
    entry that says why (its ``request_id``)."""
    html = _templates.get_template("page.html").render(
        title=title, message=message, detail=detail, form=form, request_id=request_id
    )
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})
