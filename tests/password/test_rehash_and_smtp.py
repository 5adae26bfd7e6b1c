"""argon2id hashes follow the configured parameters (rehashed at sign-in when they rise), and
mail goes through SMTP when configured (an ``aiosmtpd`` server on loopback)."""

from __future__ import annotations

import asyncio
import email
import email.policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import select

from propylon.db.tables_password import PasswordCredential
from propylon.settings import Settings
from tests.conftest import Server, free_port, start_server, stop_server
from tests.password.helpers import (
    PASSWORD,
    browser,
    link_in,
    new_account,
    new_email,
    post_form,
    sign_in,
)


async def _stored_hash(server: Server, address: str) -> str:
    async with server.rt.db.read() as s:
        found = await s.scalar(
            select(PasswordCredential.password_hash).where(PasswordCredential.email == address)
        )
    assert found is not None
    return found


def test_default_parameters_are_at_least_owasps() -> None:
    st = Settings()
    assert st.password_argon2_memory_kib >= 19_456
    assert st.password_argon2_time_cost >= 2
    assert st.password_argon2_parallelism == 1
    assert st.password_min_length >= 8 and st.password_max_length >= 64


async def test_sign_in_rehashes_when_the_parameters_rise(server: Server) -> None:
    address = new_email()
    await new_account(server, address)
    before = await _stored_hash(server, address)
    assert before.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    url, proc = start_server(
        server.backend,
        {"PROPYLON_PASSWORD_ARGON2_TIME_COST": "3", "PROPYLON_PASSWORD_ARGON2_MEMORY_KIB": "20480"},
    )
    try:
        async with browser(url) as b:
            r = await sign_in(b, address, PASSWORD)
            assert r.status_code == 200, r.text
    finally:
        stop_server(proc)
    after = await _stored_hash(server, address)
    assert after.startswith("$argon2id$v=19$m=20480,t=3,p=1$")
    async with browser(server.url) as b:  # the new hash is the same password
        assert (await sign_in(b, address, PASSWORD)).status_code == 200


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        return "250 OK"


async def test_sign_up_mail_is_delivered_over_smtp(server: Server) -> None:
    inbox = _Inbox()
    port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    env = {
        "PROPYLON_SMTP_HOST": "127.0.0.1",
        "PROPYLON_SMTP_PORT": str(port),
        "PROPYLON_SMTP_STARTTLS": "false",
        "PROPYLON_MAIL_FROM": "Accounts <accounts@propylon.test>",
    }
    url, proc = start_server(server.backend, env)
    address = new_email()
    try:
        async with browser(url) as b:
            r = await post_form(b, "/password/sign-up", {"email": address, "password": PASSWORD})
            assert r.status_code == 200
            for _ in range(200):
                if inbox.messages:
                    break
                await asyncio.sleep(0.05)
            [msg] = inbox.messages
            assert msg["To"] == address and msg["From"] == "Accounts <accounts@propylon.test>"
            assert msg["Subject"] == "Confirm your email address"
            verified = await b.get(link_in(msg))
            assert verified.status_code == 200 and "Signed in" in verified.text
    finally:
        stop_server(proc)
        smtp.stop()


async def test_a_server_without_starttls_gets_no_mail_when_starttls_is_required(
    server: Server,
) -> None:
    inbox = _Inbox()
    port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    env = {"PROPYLON_SMTP_HOST": "127.0.0.1", "PROPYLON_SMTP_PORT": str(port)}
    url, proc = start_server(server.backend, env)
    try:
        async with browser(url) as b:
            form = {"email": new_email(), "password": PASSWORD}
            r = await post_form(b, "/password/sign-up", form)
            assert r.status_code == 200 and "Check your email" in r.text  # the same answer
            await asyncio.sleep(1.5)
            assert inbox.messages == []  # nothing sent in clear text
            assert (await b.get("/healthz")).status_code == 200
    finally:
        stop_server(proc)
        smtp.stop()
