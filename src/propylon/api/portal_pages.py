"""What every portal page shares: the page itself (the portal's layout with the tenant, the
sections the link allows and the session's form token) and the runtime; who acts in the
audit trail is ``PortalGrant.actor`` (the link)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from propylon.api.pages import render
from propylon.api.portal_auth import portal_nav
from propylon.portal.model import PortalGrant
from propylon.runtime import Runtime


def rt_of(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def portal_page(
    grant: PortalGrant,
    template: str,
    title: str,
    current: str,
    *,
    status: int = 200,
    **context: Any,
) -> Response:
    """``template`` (extending ``portal/_base.html``) for this session; ``current``: the
    section (``domains``) the side navigation marks as the current page."""
    return render(
        template,
        status,
        title=title,
        grant=grant,
        nav=portal_nav(grant, current),
        **context,
    )
