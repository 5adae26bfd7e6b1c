"""Every HTML page Propylon serves carries a strict Content-Security-Policy, X-Frame-Options,
nosniff and Referrer-Policy; in a real browser the pages still render under that policy (the
stylesheet applies, /docs' inline script runs) with no violation reported."""

from __future__ import annotations

import shutil
from urllib.parse import urlencode

import httpx
import pytest

from tests.conftest import Server
from tests.provider.helpers import auth_params, new_app

# the browser fixture
from tests.sso.test_browser_login import CHROMIUM, chromium  # noqa: F401

_REPORT_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
    e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
"""


async def _page_urls(server: Server) -> dict[str, str]:
    app = await new_app(server)
    return {
        "sign-in form": f"/oauth2/authorize?{urlencode(auth_params(app))}",
        "sign-in error": "/oauth2/authorize",
        "SAML error": "/saml/conn_nothere/login",
        "signed out": "/oauth2/logout",
        "API reference": "/docs",
    }


async def test_every_html_page_forbids_framing_sniffing_referrers_and_foreign_content(
    server: Server,
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as c:
        for kind, url in (await _page_urls(server)).items():
            r = await c.get(url)
            assert r.headers["content-type"].startswith("text/html"), kind
            policy = r.headers["content-security-policy"]
            csp = {d.strip().split(" ")[0]: d.strip() for d in policy.split(";")}
            assert csp["default-src"] == "default-src 'none'", kind
            assert csp["frame-ancestors"] == "frame-ancestors 'none'", kind
            assert csp["base-uri"] == "base-uri 'none'", kind
            assert "'unsafe-inline'" not in policy, kind
            assert r.headers["x-frame-options"] == "DENY", kind
            assert r.headers["x-content-type-options"] == "nosniff", kind
            assert r.headers["referrer-policy"] == "no-referrer", kind
        api = await c.get("/oauth2/jwks")
        assert api.headers["x-content-type-options"] == "nosniff"
        assert "content-security-policy" not in api.headers


async def test_pages_render_under_their_policy_in_a_real_browser(
    server: Server,
    chromium: object,  # noqa: F811
) -> None:
    if server.name != "sqlite":
        pytest.skip("the headers do not depend on the backend")
    if shutil.which(CHROMIUM) is None:
        pytest.skip("needs Debian chromium")
    urls = await _page_urls(server)
    context = await chromium.new_context()  # type: ignore[attr-defined]
    await context.add_init_script(_REPORT_VIOLATIONS)
    # Swagger UI's CDN is out of reach here: a stand-in script says the inline one ran
    stub = "window.SwaggerUIBundle = function () { document.title = 'inline script ran'; };"
    stub += "SwaggerUIBundle.presets = {apis: 1}; SwaggerUIBundle.SwaggerUIStandalonePreset = 1;"

    async def cdn(route: object) -> None:
        if route.request.url.endswith(".js"):  # type: ignore[attr-defined]
            await route.fulfill(body=stub, content_type="text/javascript")  # type: ignore[attr-defined]
        else:
            await route.fulfill(body="", content_type="text/css")  # type: ignore[attr-defined]

    await context.route("https://cdn.jsdelivr.net/**", cdn)
    page = await context.new_page()
    try:
        await page.goto(server.url + urls["sign-in form"])
        assert await page.title() == "Sign in · Propylon"
        width = await page.evaluate("getComputedStyle(document.body).maxWidth")
        assert width == "512px"  # the stylesheet applied (32rem)
        assert await page.evaluate("window.__violations") == []
        await page.goto(server.url + urls["API reference"])
        await page.wait_for_function("document.title === 'inline script ran'", timeout=10_000)
        assert await page.evaluate("window.__violations") == []
    finally:
        await context.close()
