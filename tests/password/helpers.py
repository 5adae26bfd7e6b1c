"""Helpers for the password account tests: a browser with its cookies, forms with their CSRF
token, and the mail the embedded mailer writes to ``<data_dir>/mail``."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import secrets
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.conftest import Server

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')
_LINK = re.compile(r"(http://\S+/password/(?:verify|reset/confirm)\?token=\S+)")


def new_email(domain: str = "people.example") -> str:
    return f"p-{secrets.token_hex(5)}@{domain}"


def browser(url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, timeout=30)


async def csrf(client: httpx.AsyncClient, path: str) -> str:
    r = await client.get(path)
    assert r.status_code == 200, r.text
    found = _CSRF.search(r.text)
    assert found, r.text
    return found.group(1)


async def post_form(
    client: httpx.AsyncClient, path: str, data: dict[str, str], form_path: str | None = None
) -> httpx.Response:
    token = await csrf(client, form_path or path)
    return await client.post(path, data={**data, "csrf_token": token})


def mail_dir(server: Server) -> Path:
    return Path(server.backend.env["PROPYLON_DATA_DIR"]) / "mail"


async def wait_mail(directory: Path, to: str, subject: str) -> EmailMessage:
    """The message to ``to`` with ``subject`` the server wrote (it sends after answering)."""
    for _ in range(200):
        for path in sorted(directory.glob("*.eml")) if directory.exists() else []:
            msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(msg, EmailMessage)
            if msg["To"] == to and msg["Subject"] == subject:
                return msg
        await asyncio.sleep(0.05)
    raise AssertionError(f"no mail {subject!r} to {to}")


def link_in(msg: EmailMessage) -> str:
    body = msg.get_body(("plain",))
    assert body is not None
    found = _LINK.search(body.get_content())
    assert found, body.get_content()
    parts = urlsplit(found.group(1))
    return f"{parts.path}?{parts.query}"


async def sign_up(
    server: Server, client: httpx.AsyncClient, address: str, password: str = PASSWORD, **extra: str
) -> str:
    """Sign up in ``client``; the path and query of the verification link mailed."""
    r = await post_form(
        client, "/password/sign-up", {"email": address, "password": password, **extra}
    )
    assert r.status_code == 200, r.text
    assert "Check your email" in r.text
    return link_in(await wait_mail(mail_dir(server), address, "Confirm your email address"))


async def new_account(server: Server, address: str, password: str = PASSWORD) -> None:
    async with browser(server.url) as b:
        link = await sign_up(server, b, address, password)
        r = await b.get(link)
        assert r.status_code == 200, r.text
        assert "Signed in" in r.text


async def sign_in(
    client: httpx.AsyncClient, address: str, password: str, return_to: str = ""
) -> httpx.Response:
    data = {"email": address, "password": password}
    if return_to:
        data["return_to"] = return_to
    return await post_form(client, "/password/sign-in", data)
