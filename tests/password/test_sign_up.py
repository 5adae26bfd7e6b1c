"""Sign-up, email verification and sign-in through the real HTTP endpoints, to the app's code
at the authorization endpoint."""

from __future__ import annotations

from urllib.parse import urlencode

from propylon.admin import domains
from propylon.admin.audited import CLI
from tests.conftest import Server, new_directory
from tests.http.test_scim_users import user_body
from tests.password.helpers import (
    PASSWORD,
    browser,
    mail_dir,
    new_account,
    new_email,
    post_form,
    sign_in,
    sign_up,
    wait_mail,
)
from tests.provider.helpers import (
    REDIRECT,
    auth_params,
    decode,
    new_app,
    pkce,
    redirect_query,
    token_request,
)


async def _code_to_claims(server: Server, client, app, query, verifier):  # type: ignore[no-untyped-def]
    r = await token_request(
        client,
        app,
        {
            "grant_type": "authorization_code",
            "code": query["code"],
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
    )
    assert r.status_code == 200, r.text
    _, claims = await decode(server, r.json()["id_token"])
    return claims


async def test_individual_signs_up_verifies_and_signs_in_to_the_app(server: Server) -> None:
    address = new_email()
    await new_account(server, address)
    app = await new_app(server)
    verifier, challenge = pkce()
    params = auth_params(app, code_challenge=challenge, code_challenge_method="S256")
    return_to = "/oauth2/authorize?" + urlencode(params)
    async with browser(server.url) as b:
        r = await sign_in(b, address, PASSWORD, return_to)
        query = redirect_query(r)
        assert query["state"] == params["state"]
        claims = await _code_to_claims(server, b, app, query, verifier)
    assert claims["amr"] == ["pwd"]
    assert claims["auth_method"] == "password"
    assert claims["idp"] == "password"
    assert claims["email"] == address
    assert "org_id" not in claims and "org_slug" not in claims


async def test_verification_link_resumes_the_app_and_works_once(server: Server) -> None:
    app = await new_app(server)
    params = auth_params(app)
    return_to = "/oauth2/authorize?" + urlencode(params)
    address = new_email()
    async with browser(server.url) as b:
        link = await sign_up(server, b, address, return_to=return_to)
        r = await b.get(link)
        assert redirect_query(r)["state"] == params["state"]
        again = await b.get(link)
        assert again.status_code == 400
        assert "expired or was used" in again.text


async def test_link_opened_in_another_browser_needs_the_chosen_password(server: Server) -> None:
    address = new_email()
    async with browser(server.url) as signer:
        link = await sign_up(server, signer, address)
    async with browser(server.url) as other:
        r = await other.get(link)
        assert r.status_code == 200
        assert "Enter the password you chose" in r.text
        token = link.split("token=", 1)[1]
        wrong = await post_form(
            other, "/password/verify", {"token": token, "password": "x" * 12}, link
        )
        assert wrong.status_code == 400
        assert "not the one chosen" in wrong.text
        ok = await post_form(
            other, "/password/verify", {"token": token, "password": PASSWORD}, link
        )
        assert ok.status_code == 200, ok.text
        assert "Signed in" in ok.text


async def test_sign_up_links_to_the_tenants_user_only_once_verified(server: Server) -> None:
    d = await new_directory(server)
    domain = f"{d.tenant_slug}.example"
    await domains.add_domain(server.rt, CLI, d.tenant_slug, domain, None)
    address = f"ada@{domain}"
    async with d.client() as scim:
        r = await scim.post("/Users", json=user_body(address))
        assert r.status_code == 201, r.text
        user_id = r.json()["id"]
    app = await new_app(server)
    async with browser(server.url) as b:
        link = await sign_up(server, b, address)
        # not verified yet: the password signs no one in
        refused = await sign_in(b, address, PASSWORD)
        assert refused.status_code == 400
        r = await b.get(link)
        assert "Signed in" in r.text
    verifier, challenge = pkce()
    params = auth_params(app, code_challenge=challenge, code_challenge_method="S256")
    async with browser(server.url) as b:
        r = await sign_in(b, address, PASSWORD, "/oauth2/authorize?" + urlencode(params))
        claims = await _code_to_claims(server, b, app, redirect_query(r), verifier)
    assert claims["sub"] == user_id
    assert claims["org_id"] == d.tenant_id


async def test_sign_up_of_a_taken_address_answers_the_same_and_mails_its_owner(
    server: Server,
) -> None:
    address = new_email()
    await new_account(server, address)
    async with browser(server.url) as b:
        r = await post_form(
            b, "/password/sign-up", {"email": address, "password": "another long one 42"}
        )
        assert r.status_code == 200
        assert "Check your email" in r.text
    msg = await wait_mail(mail_dir(server), address, "You already have an account")
    assert "token=" not in msg.get_content()  # type: ignore[attr-defined]


async def test_a_tenant_without_a_free_seat_creates_no_account(server: Server) -> None:
    d = await new_directory(server, seats=1)
    domain = f"{d.tenant_slug}.example"
    await domains.add_domain(server.rt, CLI, d.tenant_slug, domain, None)
    async with d.client() as scim:
        assert (await scim.post("/Users", json=user_body(f"first@{domain}"))).status_code == 201
    address = f"second@{domain}"
    async with browser(server.url) as b:
        link = await sign_up(server, b, address)
        r = await b.get(link)
        assert r.status_code == 409 and "Account not created" in r.text
        assert "propylon_session" not in r.cookies
        assert (await sign_in(b, address, PASSWORD)).status_code == 400
