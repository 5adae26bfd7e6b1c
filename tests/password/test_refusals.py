"""What password pages refuse: weak passwords (NIST SP 800-63B §5.1.1.2), forged forms, and
the difference between an unknown email and a wrong password (none, to anyone asking)."""

from __future__ import annotations

from sqlalchemy import update

from propylon.admin import domains
from propylon.admin.audited import CLI
from propylon.db.tables import Tenant
from tests.conftest import Server, new_directory
from tests.password.helpers import (
    PASSWORD,
    browser,
    csrf,
    new_account,
    new_email,
    post_form,
    sign_in,
    sign_up,
)


async def test_unknown_email_and_wrong_password_get_the_same_answer(server: Server) -> None:
    address = new_email()
    await new_account(server, address)
    unknown = new_email()
    async with browser(server.url) as b:
        wrong = await sign_in(b, address, "wrong password 1")
        nobody = await sign_in(b, unknown, "wrong password 1")
    assert wrong.status_code == nobody.status_code == 400
    assert wrong.text.replace(address, "X") == nobody.text.replace(unknown, "X")
    assert "The email address or password is incorrect." in wrong.text
    assert 'href="#password"' in wrong.text  # the error summary links to the field


async def test_common_short_and_overlong_passwords_are_refused_at_sign_up(server: Server) -> None:
    async with browser(server.url) as b:
        for password, why in (
            ("Password123", "too common"),
            ("".join(chr(ord(c) + 0xFEE0) for c in "password123"), "too common"),  # NFKC: fullwidth
            ("short", "at least 8"),
            ("x" * 257, "at most 256"),
        ):
            r = await post_form(
                b, "/password/sign-up", {"email": new_email(), "password": password}
            )
            assert r.status_code == 400, (password, r.text)
            assert why in r.text
            assert 'aria-invalid="true"' in r.text and 'href="#password"' in r.text
        long_unicode = "ça c'est une phrase de passe 🙂 " * 2
        ok = await post_form(
            b, "/password/sign-up", {"email": new_email(), "password": long_unicode}
        )
        assert ok.status_code == 200


async def test_a_post_without_this_browsers_csrf_token_is_refused(server: Server) -> None:
    address = new_email()
    await new_account(server, address)
    data = {"email": address, "password": PASSWORD}
    async with browser(server.url) as b:
        bare = await b.post("/password/sign-in", data=data)
        assert bare.status_code == 403
        token = await csrf(b, "/password/sign-in")
    async with browser(server.url) as attacker_page:  # another browser: another cookie
        await csrf(attacker_page, "/password/sign-in")
        forged = await attacker_page.post("/password/sign-in", data={**data, "csrf_token": token})
        assert forged.status_code == 403
        assert "propylon_session" not in forged.cookies


async def test_pages_are_labelled_forms_with_autocomplete(server: Server) -> None:
    async with browser(server.url) as b:
        r = await b.get("/password/sign-in")
    assert r.headers["set-cookie"].lower().count("samesite=lax") == 1
    for needle in (
        '<label for="email">',
        '<label for="password">',
        'autocomplete="email"',
        'autocomplete="current-password"',
        'method="post"',
    ):
        assert needle in r.text


async def test_a_tenant_enforcing_sso_refuses_password_sign_up_and_sign_in(server: Server) -> None:
    d = await new_directory(server)
    domain = f"{d.tenant_slug}.example"
    await domains.add_domain(server.rt, CLI, d.tenant_slug, domain, None)
    address = f"grace@{domain}"
    await new_account(server, address)
    async with server.rt.db.write() as s:
        await s.execute(update(Tenant).where(Tenant.id == d.tenant_id).values(enforce_sso=True))
    async with browser(server.url) as b:
        r = await sign_in(b, address, PASSWORD)
        assert r.status_code == 403 and "single sign-on" in r.text
        r = await post_form(
            b, "/password/sign-up", {"email": new_email(domain), "password": PASSWORD}
        )
        assert r.status_code == 403


async def test_a_sign_up_link_from_before_sso_was_enforced_makes_no_account(
    server: Server,
) -> None:
    """The link is checked against the tenant's rule when it is followed: a tenant that has
    started enforcing SSO since the sign-up gets no password account and no session."""
    d = await new_directory(server)
    domain = f"{d.tenant_slug}.example"
    await domains.add_domain(server.rt, CLI, d.tenant_slug, domain, None)
    async with browser(server.url) as b:
        link = await sign_up(server, b, f"late@{domain}")
        async with server.rt.db.write() as s:
            await s.execute(update(Tenant).where(Tenant.id == d.tenant_id).values(enforce_sso=True))
        r = await b.get(link)
        assert r.status_code == 409, r.text
        assert "propylon_session" not in r.headers.get("set-cookie", "")
