"""Every asset a page loads is Propylon's own, the brand colour is checked for contrast, and
the shared layout passes axe-core in Chromium."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from propylon.settings import Settings, brand_text_colour, contrast
from tests.a11y import assert_accessible, needs_axe
from tests.browser import chromium, needs_chromium  # noqa: F401
from tests.conftest import Server


async def test_stylesheet_script_and_brand_colour_are_served_by_propylon(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url) as c:
        css = await c.get("/assets/propylon.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        again = await c.get("/assets/propylon.css", headers={"If-None-Match": css.headers["etag"]})
        assert again.status_code == 304
        js = await c.get("/assets/copy.js")
        assert js.headers["content-type"].startswith("text/javascript")
        brand = await c.get("/assets/brand.css")
        assert "--brand:#1d4ed8" in brand.text and "--brand-text:#ffffff" in brand.text
        assert (await c.get("/assets/..%2fsettings.py")).status_code == 404
        assert (await c.get("/assets/unknown.js")).status_code == 404


def test_a_brand_colour_too_light_for_text_on_white_is_refused() -> None:
    with pytest.raises(ValidationError, match="contrast"):
        Settings(brand_color="#ffd400")
    with pytest.raises(ValidationError, match="#rrggbb"):
        Settings(brand_color="red; background:url(x)")
    assert Settings(brand_color="#0B6E4F").brand_color == "#0b6e4f"
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert brand_text_colour("#0b6e4f") == "#ffffff"


@needs_chromium
@needs_axe
async def test_sign_in_page_has_no_serious_accessibility_violation(
    server: Server,
    chromium: object,  # noqa: F811
) -> None:
    if server.name != "sqlite":
        pytest.skip("the pages do not depend on the backend")
    page = await chromium.new_page()  # type: ignore[attr-defined]
    try:
        await page.goto(server.url + "/oauth2/logout")
        await assert_accessible(page, "signed-out page")
        await page.goto(server.url + "/")
        await assert_accessible(page, "home page")
    finally:
        await page.close()
