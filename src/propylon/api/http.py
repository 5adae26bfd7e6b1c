"""Request helpers shared by the routers: bounded JSON bodies and bearer credentials."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request

from propylon.scim.errors import InvalidSyntax, PayloadTooLarge


async def read_json_object(request: Request, max_bytes: int) -> dict[str, Any]:
    """Read at most ``max_bytes`` of body and parse one JSON object (RFC 8259).

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
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InvalidSyntax(f"request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidSyntax("request body must be a JSON object")
    return body


def bearer_token(request: Request) -> str | None:
    """The credential of ``Authorization: Bearer …`` (RFC 6750 §2.1), scheme case-insensitive."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


class FormTooLarge(ValueError):
    """A form body over the caller's limit."""


async def read_form_pairs(
    request: Request, max_bytes: int, *, max_fields: int = 100
) -> list[tuple[str, str]]:
    """An ``application/x-www-form-urlencoded`` body, bounded, as ordered pairs.

    Raises :class:`FormTooLarge` past ``max_bytes`` and :class:`ValueError` for a body that is
    not URL-encoded UTF-8 or has more than ``max_fields`` fields.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise FormTooLarge("body too large")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise FormTooLarge("body too large")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("form body is not UTF-8") from None
    return parse_qsl(text, keep_blank_values=True, max_num_fields=max_fields)


async def read_form(request: Request, max_bytes: int) -> dict[str, str]:
    """:func:`read_form_pairs` as a mapping (first value of each field)."""
    fields: dict[str, str] = {}
    for key, value in await read_form_pairs(request, max_bytes, max_fields=20):
        fields.setdefault(key, value)
    return fields
