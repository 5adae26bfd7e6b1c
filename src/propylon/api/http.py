"""Request helpers shared by the routers: bounded JSON bodies and bearer credentials."""

from __future__ import annotations

import codecs
import json
import math
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.routing import APIRoute
from starlette.responses import Response

from propylon import ids
from propylon.errors import InvalidInput, NotFound
from propylon.scim.errors import InvalidSyntax, InvalidValue, PayloadTooLarge
from propylon.text import UnstorableText, check_text

MAX_NUMBER_CHARS = 100
"""Longest number literal a JSON body may carry. RFC 8259 §9 lets a parser limit the range
and precision of numbers; no SCIM or management attribute needs more than an int64, and
Python's int-from-string conversion refuses more than 4300 digits with a ``ValueError``."""

MAX_DEPTH = 32
"""Deepest nesting of objects and arrays in a JSON body (RFC 8259 §9 lets a parser limit it).
A SCIM PATCH body nests about six deep; every later walk of a document (PATCH, projection,
audit diff, the databases' JSON functions) then stays far from any recursion limit."""


class NonStandardJson(ValueError):
    """A body that is not RFC 8259 JSON: ``NaN``/``Infinity``, a number out of bounds, or
    not UTF-8 (§8.1)."""


def _refuse_constant(name: str) -> Any:
    raise NonStandardJson(f"{name} is not a JSON number (RFC 8259 §6)")


def _parse_int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise NonStandardJson(f"a number longer than {MAX_NUMBER_CHARS} characters")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if len(text) > MAX_NUMBER_CHARS or not math.isfinite(value):
        raise NonStandardJson(f"number {text[:40]} is out of range (RFC 8259 §6)")
    return value


_DECODER = json.JSONDecoder(
    parse_constant=_refuse_constant, parse_int=_parse_int, parse_float=_parse_float
)


def _check_depth(doc: Any) -> None:
    """Nesting at most :data:`MAX_DEPTH`, walked level by level without recursion (the
    parser's own objects and lists, so exact type tests suffice)."""
    level, depth = ([doc] if type(doc) is dict or type(doc) is list else []), 0
    while level:
        depth += 1
        if depth > MAX_DEPTH:
            raise NonStandardJson(f"the body nests deeper than {MAX_DEPTH} levels")
        inner: list[Any] = []
        keep = inner.append
        for item in level:
            for value in item.values() if type(item) is dict else item:
                if type(value) is dict or type(value) is list:
                    keep(value)
        level = inner


def _check_strings(doc: Any) -> None:
    """Every member name and string value storable (:mod:`propylon.text`)."""
    stack = [doc]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            check_text(item, "a string")
        elif isinstance(item, dict):
            for key in item:
                check_text(key, "a member name")
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def loads_standard(raw: bytes) -> Any:
    """Parse RFC 8259 JSON strictly: UTF-8 only (a leading byte order mark is ignored,
    §8.1), no ``NaN``/``Infinity``/``-Infinity`` and no number that overflows (§6), nesting
    bounded (§9), no NUL or lone surrogate in any string. Raises :class:`NonStandardJson` (or
    ``json.JSONDecodeError``, also a ``ValueError``) for malformed input and
    :class:`UnstorableText` for unstorable strings; ``RecursionError`` for absurd nesting."""
    try:
        text = raw.removeprefix(codecs.BOM_UTF8).decode("utf-8")
    except UnicodeDecodeError:
        raise NonStandardJson("the body is not UTF-8 (RFC 8259 §8.1)") from None
    doc = _DECODER.decode(text)
    # Cheap tests first: no document nests deeper than it has brackets, and as a raw NUL is
    # refused by the parser and a raw surrogate by the UTF-8 decoder, only a \u escape
    # produces either.
    if text.count("{") + text.count("[") > MAX_DEPTH:
        _check_depth(doc)
    if "\\u" in text:
        _check_strings(doc)
    return doc


async def read_json_object(request: Request, max_bytes: int) -> dict[str, Any]:
    """Read at most ``max_bytes`` of body and parse one JSON object (RFC 8259, strictly:
    :func:`loads_standard`).

    Raises the SCIM errors; the management API maps them to its own problem bodies.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"request body exceeds {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"request body exceeds {max_bytes} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise InvalidSyntax("request body is empty; a JSON object is required")
    try:
        body = loads_standard(raw)
    except UnstorableText as exc:
        raise InvalidValue(f"request body refused: {exc}") from None
    except (ValueError, RecursionError) as exc:
        raise InvalidSyntax(f"request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidSyntax("request body must be a JSON object")
    return body


class StandardJsonRequest(Request):
    """A request whose JSON body is parsed by :func:`loads_standard`; whatever it refuses
    reaches FastAPI as ``JSONDecodeError``, which FastAPI answers as an invalid request."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            raw = await self.body()
            try:
                self._json = loads_standard(raw)
            except (ValueError, RecursionError) as exc:
                raise json.JSONDecodeError(f"not standard JSON: {exc}", "", 0) from None
        return self._json


LONG_PATH_PARAMS = {"domain": 253}
"""Path parameters that are no id or slug, with their own bound (a DNS name: RFC 1035)."""


class StandardInputRoute(APIRoute):
    """The route class of the management API: JSON bodies as :class:`StandardJsonRequest`
    reads them; a path parameter longer than any id or slug column (:data:`ids.MAX_CHARS`,
    or its bound in :data:`LONG_PATH_PARAMS`) is 404, and path and query parameters holding
    NUL (which PostgreSQL text cannot hold) are 400, before any handler runs."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def standard(request: Request) -> Response:
            for name, value in request.path_params.items():
                if len(str(value)) > LONG_PATH_PARAMS.get(name, ids.MAX_CHARS):
                    raise NotFound(f"no such {name}")
            for name, value in (*request.path_params.items(), *request.query_params.items()):
                try:
                    check_text(f"{name}={value}", "a path or query parameter")
                except UnstorableText as exc:
                    raise InvalidInput(str(exc)) from None
            return await handler(StandardJsonRequest(request.scope, request.receive))

        return standard


def bearer_token(request: Request) -> str | None:
    """The credential of ``Authorization: Bearer …`` (RFC 6750 §2.1), scheme case-insensitive."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def query_pairs(request: Request) -> list[tuple[str, str]]:
    """The query string as ordered pairs. Raises :class:`~propylon.text.UnstorableText` (a
    ``ValueError``) for a parameter holding NUL, which no stored value can match."""
    pairs = parse_qsl(request.url.query, keep_blank_values=True)
    for key, value in pairs:
        check_text(key + value, "a query parameter")
    return pairs


class FormTooLarge(ValueError):
    """A form body over the caller's limit."""


async def read_bounded_body(request: Request, max_bytes: int) -> bytes:
    """The request body, refused (:class:`FormTooLarge`) past ``max_bytes``: by its declared
    ``Content-Length`` before reading, else as soon as what arrived passes it."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise FormTooLarge("body too large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise FormTooLarge("body too large")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_form_pairs(
    request: Request, max_bytes: int, *, max_fields: int = 100
) -> list[tuple[str, str]]:
    """An ``application/x-www-form-urlencoded`` body, bounded, as ordered pairs.

    Raises :class:`FormTooLarge` past ``max_bytes`` and :class:`ValueError` for a body that is
    not URL-encoded UTF-8, has more than ``max_fields`` fields or a field holding NUL.
    """
    body = await read_bounded_body(request, max_bytes)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("form body is not UTF-8") from None
    pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=max_fields)
    for key, value in pairs:
        check_text(key + value, "a form field")  # UnstorableText is a ValueError
    return pairs


async def read_form(request: Request, max_bytes: int) -> dict[str, str]:
    """:func:`read_form_pairs` as a mapping (first value of each field)."""
    fields: dict[str, str] = {}
    for key, value in await read_form_pairs(request, max_bytes, max_fields=20):
        fields.setdefault(key, value)
    return fields
