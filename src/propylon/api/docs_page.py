"""``/docs``: the management API reference (Swagger UI reading ``/openapi.json``).

The page is FastAPI's, built from constants only (no request data), and carries a policy of
its own (see :mod:`propylon.api.security_headers`): Swagger UI's script and stylesheet from
its CDN, its one inline script by hash (CSP3 §2.3.1), icons as ``data:`` images, and fetches
of this server only; no framing.
"""

from __future__ import annotations

import re
from functools import cache

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from propylon.api.security_headers import source_hash

CDN = "https://cdn.jsdelivr.net"
FAVICON = "https://fastapi.tiangolo.com"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)

router = APIRouter()


@cache
def _page(openapi_url: str, title: str) -> tuple[bytes, str]:
    html = bytes(
        get_swagger_ui_html(openapi_url=openapi_url, title=f"{title} - API reference").body
    )
    scripts = " ".join(source_hash(s) for s in _INLINE_SCRIPT.findall(html.decode()))
    policy = (
        f"default-src 'none'; script-src {CDN} {scripts}; style-src {CDN}; "
        f"img-src {FAVICON} data:; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )
    return html, policy


@router.get("/docs", include_in_schema=False)
async def docs(request: Request) -> HTMLResponse:
    app = request.app
    html, policy = _page(app.openapi_url, app.title)
    return HTMLResponse(html, headers={"Content-Security-Policy": policy})
