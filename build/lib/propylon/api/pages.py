"""Plain HTML pages for people (sign-in prompts and errors): Jinja2, autoescaped, not cached.
A person sees what happened in plain words; the reason an admin needs is in the audit trail.

Every page carries the host platform's name and logo (:class:`Brand`, from the
``brand_*`` settings, set once per process by :func:`use_brand` when the app is built) and is
laid out for WCAG 2.2 AA: one ``h1``, labelled inputs, a visible focus outline, text
contrast of at least 4.5:1; an error page (status 400 and above) announces itself
(``role="alert"`` summary) and offers a way back (the platform's home, else the start of
sign-in).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from propylon.settings import Settings

_templates = Environment(
    loader=PackageLoader("propylon.api", "templates"), autoescape=select_autoescape()
)


@dataclass(frozen=True)
class Brand:
    name: str = "Propylon"
    logo_url: str | None = None
    home_url: str = "/"
    """Where "back" leads from an error page."""

    @classmethod
    def of(cls, settings: Settings) -> Brand:
        return cls(settings.brand_name, settings.brand_logo_url, settings.brand_home_url or "/")


_brand = [Brand()]


def use_brand(brand: Brand) -> None:
    """The brand of every page this process renders (set when the app is built)."""
    _brand[0] = brand


def render(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Any template of ``api/templates`` as an uncached page, with the brand."""
    html = _templates.get_template(template).render(brand=_brand[0], status=status, **context)
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
    back: str | None = None,
    **extra: Any,
) -> HTMLResponse:
    """``request_id``: shown so a person can quote it and an administrator find the audit
    entry that says why (its ``request_id``); ``links``: (href, text) ways on. ``back``: where
    the way back leads (default: the brand's home) — every error page has one. ``extra``:
    blocks of ``page.html`` (``methods``, ``sso``)."""
    return render(
        "page.html",
        status,
        title=title,
        message=message,
        detail=detail,
        form=form,
        request_id=request_id,
        links=links,
        back=back or (_brand[0].home_url if status >= 400 else None),
        **extra,
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
