"""Helpers for the console tests: operators made through the service layer, TOTP codes by the
RFC 6238 reference algorithm written out here (not Propylon's), and a browser (httpx with its
cookies) that signs in to /admin."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import struct
import time
from typing import Any

import httpx

from propylon.admin import operators
from propylon.admin.audited import CLI
from tests.conftest import Server

PASSWORD = "console operator passphrase 7"
_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


def reference_totp(secret_b32: str, unix_time: float, digits: int = 6, step: int = 30) -> str:
    """RFC 6238 §4 and Appendix A (the reference implementation's generateTOTP), HMAC-SHA1:
    T = floor(time / step) as 8 big-endian bytes; RFC 4226 §5.4 dynamic truncation."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    counter = struct.pack(">Q", int(unix_time) // step)
    digest = hmac.new(key, counter, hashlib.sha1).digest()
    offset = digest[19] & 0xF
    code = (
        (digest[offset] & 0x7F) << 24
        | (digest[offset + 1] & 0xFF) << 16
        | (digest[offset + 2] & 0xFF) << 8
        | (digest[offset + 3] & 0xFF)
    )
    return str(code % 10**digits).rjust(digits, "0")


def new_email() -> str:
    return f"op-{secrets.token_hex(5)}@platform.example"


async def new_operator(server: Server, email: str | None = None) -> dict[str, Any]:
    return await operators.create_operator(server.rt, CLI, email or new_email(), PASSWORD)


def browser(url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, timeout=30)


async def csrf(client: httpx.AsyncClient, path: str) -> str:
    r = await client.get(path)
    assert r.status_code == 200, r.text
    found = _CSRF.search(r.text)
    assert found, r.text
    return found.group(1)


async def password_step(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD
) -> httpx.Response:
    token = await csrf(client, "/admin/login")
    data = {"email": email, "password": password, "csrf_token": token}
    return await client.post("/admin/login", data=data)


async def code_step(client: httpx.AsyncClient, code: str) -> httpx.Response:
    token = await csrf(client, "/admin/login/code")
    return await client.post("/admin/login/code", data={"code": code, "csrf_token": token})


def code_now(op: dict[str, Any], offset_steps: int = 0) -> str:
    return reference_totp(op["totp_secret"], time.time() + 30 * offset_steps)


async def signed_in(url: str, op: dict[str, Any]) -> httpx.AsyncClient:
    """A browser signed in to the console as ``op`` (with the current step's code)."""
    client = browser(url)
    r = await password_step(client, op["email"])
    assert r.status_code == 303 and r.headers["location"] == "/admin/login/code", r.text
    r = await code_step(client, code_now(op))
    assert r.status_code == 303 and r.headers["location"] == "/admin", r.text
    return client
