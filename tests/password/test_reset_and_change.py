"""Password reset by a single-use emailed link and change by the signed-in person: both end
every session the person had."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import update

from propylon.db.tables_password import PasswordToken
from tests.conftest import Server
from tests.password.helpers import (
    PASSWORD,
    browser,
    link_in,
    mail_dir,
    new_account,
    new_email,
    post_form,
    sign_in,
    wait_mail,
)
from tests.revocation.helpers import user_revocations

NEW = "a brand new passphrase 7"


async def _signed_in(server: Server, address: str, password: str) -> httpx.AsyncClient:
    b = browser(server.url)
    r = await sign_in(b, address, password)
    assert r.status_code == 200 and "Signed in" in r.text, r.text
    return b


async def _is_signed_in(b: httpx.AsyncClient) -> bool:
    r = await b.get("/password/change")
    assert r.status_code in (200, 401), r.text
    return r.status_code == 200


async def test_reset_sets_a_new_password_ends_sessions_and_works_once(server: Server) -> None:
    address = new_email()
    await new_account(server, address)
    old_session = await _signed_in(server, address, PASSWORD)
    try:
        assert await _is_signed_in(old_session)
        async with browser(server.url) as b:
            r = await post_form(b, "/password/reset", {"email": address})
            assert r.status_code == 200
            link = link_in(await wait_mail(mail_dir(server), address, "Reset your password"))
            token = link.split("token=", 1)[1]
            page = await b.get(link)
            assert page.status_code == 200 and 'autocomplete="new-password"' in page.text
            r = await post_form(
                b, "/password/reset/confirm", {"token": token, "password": NEW}, link
            )
            assert r.status_code == 200 and "Password changed" in r.text, r.text
            again = await b.get(link)
            assert again.status_code == 400
            reused = await post_form(
                b,
                "/password/reset/confirm",
                {"token": token, "password": NEW + "x"},
                "/password/reset",
            )
            assert reused.status_code == 400
        assert not await _is_signed_in(old_session)
        # with its event, in the reset's transaction
        assert await user_revocations(server, address) == [("password_reset", 1)]
    finally:
        await old_session.aclose()
    async with browser(server.url) as b:
        assert (await sign_in(b, address, PASSWORD)).status_code == 400
        assert (await sign_in(b, address, NEW)).status_code == 200


async def test_reset_request_answers_the_same_for_an_unknown_address(server: Server) -> None:
    known, unknown = new_email(), new_email()
    await new_account(server, known)
    async with browser(server.url) as b:
        r1 = await post_form(b, "/password/reset", {"email": known})
        r2 = await post_form(b, "/password/reset", {"email": unknown})
    assert r1.status_code == r2.status_code == 200
    assert r1.text.replace(known, "X") == r2.text.replace(unknown, "X")
    await wait_mail(mail_dir(server), known, "Reset your password")
    assert not any(unknown in p.read_text() for p in mail_dir(server).glob("*.eml"))


async def test_change_needs_the_current_password_and_ends_other_sessions(server: Server) -> None:
    address = new_email()
    await new_account(server, address)
    other = await _signed_in(server, address, PASSWORD)
    this = await _signed_in(server, address, PASSWORD)
    try:
        wrong = await post_form(
            this, "/password/change", {"current_password": "not it at all", "new_password": NEW}
        )
        assert wrong.status_code == 400 and "current password is incorrect" in wrong.text
        weak = await post_form(
            this, "/password/change", {"current_password": PASSWORD, "new_password": "password123"}
        )
        assert weak.status_code == 400 and "too common" in weak.text
        ok = await post_form(
            this, "/password/change", {"current_password": PASSWORD, "new_password": NEW}
        )
        assert ok.status_code == 200 and "Password changed" in ok.text, ok.text
        assert await _is_signed_in(this)  # this browser got a new session
        assert not await _is_signed_in(other)
        assert await user_revocations(server, address) == [("password_changed", 1)]
    finally:
        await other.aclose()
        await this.aclose()
    async with browser(server.url) as b:
        assert (await sign_in(b, address, NEW)).status_code == 200


async def test_change_without_a_session_is_refused(server: Server) -> None:
    async with browser(server.url) as b:
        r = await b.get("/password/change")
        assert r.status_code == 401
        assert 'href="/password/sign-in"' in r.text


async def test_an_expired_reset_link_is_refused(server: Server) -> None:
    address = new_email()
    await new_account(server, address)
    async with browser(server.url) as b:
        assert (await post_form(b, "/password/reset", {"email": address})).status_code == 200
        link = link_in(await wait_mail(mail_dir(server), address, "Reset your password"))
        gone = server.rt.clock() - timedelta(seconds=1)
        async with server.rt.db.write() as s:
            await s.execute(
                update(PasswordToken)
                .where(PasswordToken.email == address, PasswordToken.purpose == "reset")
                .values(expires_at=gone)
            )
        assert (await b.get(link)).status_code == 400
        token = link.split("token=", 1)[1]
        r = await post_form(
            b, "/password/reset/confirm", {"token": token, "password": NEW}, "/password/reset"
        )
        assert r.status_code == 400 and "expired or was used" in r.text
    async with browser(server.url) as b:
        assert (await sign_in(b, address, PASSWORD)).status_code == 200
