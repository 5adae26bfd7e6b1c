"""Request helpers shared by the routers: bounded JSON bodies and bearer credentials."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

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


async def read_form(request: Request, max_bytes: int) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body, bounded; first value of each field.

    Raises :class:`ValueError` for a body over ``max_bytes`` or not form-encoded.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise ValueError("body too large")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise ValueError("body too large")
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise ValueError("form body is not URL-encoded ASCII") from None
    fields = parse_qs(text, keep_blank_values=True, max_num_fields=20)
    return {k: v[0] for k, v in fields.items()}
