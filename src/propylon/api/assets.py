"""Every asset a page loads, served by Propylon itself (no CDN): the stylesheet and the copy
buttons' script from ``api/static/``, and ``/assets/brand.css``, the brand colour of the
settings as CSS custom properties (so no page needs an inline style).

Assets are named, never looked up by a path the request chose; each answer carries a strong
``ETag`` of its bytes and is revalidated (``no-cache``), so a new version is seen at once."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib.resources import files
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import Response

from propylon.settings import Settings, brand_text_colour

router = APIRouter(include_in_schema=False)

_TYPES: Final = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
_STATIC: Final = ("propylon.css", "copy.js", "demo-live.js")


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'


def _packaged() -> dict[str, Asset]:
    folder = files("propylon.api") / "static"
    out = {}
    for name in _STATIC:
        suffix = name[name.rindex(".") :]
        out[name] = Asset((folder / name).read_bytes(), _TYPES[suffix])
    return out


_ASSETS: Final = _packaged()


def brand_css(settings: Settings) -> Asset:
    """``--brand`` (links, buttons, focus) and the text colour on it."""
    colour = settings.brand_color
    css = f":root{{--brand:{colour};--brand-text:{brand_text_colour(colour)}}}\n"
    return Asset(css.encode(), _TYPES[".css"])


def _answer(request: Request, asset: Asset) -> Response:
    headers = {"ETag": asset.etag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.content_type, headers=headers)


@router.get("/assets/brand.css")
async def brand(request: Request) -> Response:
    return _answer(request, brand_css(request.app.state.runtime.settings))


@router.get("/assets/{name}")
async def asset(request: Request, name: str) -> Response:
    found = _ASSETS.get(name)
    if found is None:
        return Response("not found", status_code=404, media_type="text/plain")
    return _answer(request, found)
