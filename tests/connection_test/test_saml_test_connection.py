"""Test connection against pysaml2 as the IdP (real signatures, xmlsec1 underneath): the
connection is a draft (disabled: no normal sign-in through it), a test started for it sends the
browser to pysaml2 with a signed AuthnRequest, and pysaml2's Response at the ACS is recorded as
the test's result stage by stage, never a session. Named failures: wrong certificate, wrong
audience, clock skew, missing email, SHA-1, an error Status; the result of tenant A is not
readable from tenant B; the test's answer from another browser is refused."""

from __future__ import annotations

import base64
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from propylon.audit import Actor
from propylon.db.tables_setup import ConnectionTestRow
from propylon.errors import NotFound
from propylon.setup.model import ConnectionTest
from propylon.setup.tests_store import get_test, latest_test, list_tests
from propylon.signin.connection_test import start_test
from propylon.signin.saml_sso import StartedLogin
from tests.conftest import Server
from tests.http.test_scim_users import user_body
from tests.saml.idp import make_keypair
from tests.sso.test_saml_pysaml2 import Idp, new_idp, pysaml2_server, query_of

pytestmark = pytest.mark.skipif(shutil.which("xmlsec1") is None, reason="needs xmlsec1")

RESULT = "/admin/tests/{test_id}"
RESPONDER = "urn:oasis:names:tc:SAML:2.0:status:Responder"
AUTHN_FAILED = "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"
WRONG_SP = "https://wrong.example/sp"


def tenant_of(idp: Idp) -> str:
    return str(idp.connection["tenant_id"])


async def begin(server: Server, idp: Idp, vendor: str = "generic") -> tuple[StartedLogin, str, Any]:
    """A test started as an operator would; pysaml2 parses (and verifies) its AuthnRequest."""
    from saml2 import BINDING_HTTP_REDIRECT

    started, test_id = await start_test(
        server.rt, idp.cid, tenant_of(idp), Actor("operator", "op_test"), RESULT, vendor=vendor
    )
    assert test_id.startswith("ctest_") and started.url.startswith(idp.sso)
    q = query_of(started.url)
    req = idp.server.parse_authn_request(
        q["SAMLRequest"],
        BINDING_HTTP_REDIRECT,
        relay_state=q["RelayState"],
        sigalg=q["SigAlg"],
        signature=q["Signature"],
    )
    assert req is not None
    return started, test_id, req


def respond(
    idp: Idp,
    req: Any,
    identity: dict[str, list[str]],
    *,
    server: Any = None,
    email_name_id: str | None = None,
    **kw: Any,
) -> str:
    """pysaml2's signed Response (RSA-SHA256 unless ``kw`` says otherwise) to ``req``."""
    from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_PERSISTENT, NameID
    from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

    if email_name_id:
        name_id = NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=email_name_id)
    else:
        name_id = NameID(format=NAMEID_FORMAT_PERSISTENT, text="p-7f3a9c")
    args: dict[str, Any] = {
        "destination": req.message.assertion_consumer_service_url,
        "sign_response": True,
        "sign_alg": SIG_RSA_SHA256,
        "digest_alg": DIGEST_SHA256,
        "sp_entity_id": idp.connection["sp_entity_id"],
        **kw,
    }
    resp = (server or idp.server).create_authn_response(
        identity=identity,
        in_response_to=req.message.id,
        name_id=name_id,
        authn={
            "class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
            "authn_auth": idp.entity_id,
        },
        session_not_on_or_after=None,
        **args,
    )
    return base64.b64encode(str(resp).encode()).decode()


async def answer(
    server: Server, idp: Idp, started: StartedLogin, saml: str, *, same_browser: bool = True
) -> httpx.Response:
    """The browser posts the IdP's Response to the ACS (with the test's cookie, or not)."""
    relay = query_of(started.url)["RelayState"]
    headers = {"Cookie": f"{started.cookie_name}={started.cookie_value}"} if same_browser else {}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        return await browser.post(
            idp.acs_path, data={"SAMLResponse": saml, "RelayState": relay}, headers=headers
        )


def recorded(r: httpx.Response, test_id: str) -> None:
    """The ACS recorded the test and sent the browser to its result: no session cookie."""
    assert r.status_code == 303, r.text
    assert r.headers["location"] == RESULT.format(test_id=test_id)
    assert "propylon_session" not in r.headers.get("set-cookie", "")


def states(test: ConnectionTest) -> dict[str, str]:
    return {s.name: s.state for s in test.stages}


def failed_at(
    test: ConnectionTest, stage: str, reason: str, verified_later: tuple[str, ...] = ()
) -> None:
    """Failed at ``stage`` for ``reason``: the stages before it passed, those after not
    reached (but ``verified_later``, passed), the failing one with its remedy."""
    assert test.status == "failed" and test.failed_stage == stage, test
    assert test.reason == reason
    names = [s.name for s in test.stages]
    at = names.index(stage)
    for s in test.stages:
        want = "passed" if names.index(s.name) < at or s.name in verified_later else "not_reached"
        if s.name == stage:
            assert s.state == "failed" and s.remedy == test.remedy and s.remedy
        else:
            assert s.state == want, (s.name, s.state, test)


@pytest.fixture
async def idp(server: Server, tmp_path: Path) -> Idp:
    """A pysaml2 IdP and a connection to it that is a draft (disabled), JIT on."""
    made = await new_idp(server, tmp_path, "--jit")
    server.cli("saml", "disable", made.cid)
    return made


async def test_success_maps_the_attributes_and_signs_nobody_in(server: Server, idp: Idp) -> None:
    email = f"ada@{idp.domain}"
    uid = (await idp.scim.post("/Users", json=user_body(email))).json()["id"]
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        login = f"/saml/{idp.cid}/login"
        r = await browser.get(login, params={"return_to": "/oauth2/authorize?x=1"})
    assert r.status_code == 404  # a draft is not usable for a normal sign-in...
    started, test_id, req = await begin(server, idp)  # ...but is testable
    pending = await get_test(server.rt, test_id, tenant_of(idp))
    assert pending.status == "pending" and set(states(pending).values()) == {"not_reached"}
    assert not pending.abandoned(datetime.now(UTC))
    assert pending.abandoned(datetime.now(UTC) + timedelta(hours=1))
    identity = {"mail": [email], "givenName": ["Ada"], "sn": ["Lovelace"]}
    r = await answer(server, idp, started, respond(idp, req, identity))
    recorded(r, test_id)
    test = await get_test(server.rt, test_id, tenant_of(idp))
    assert test.status == "passed" and test.failed_stage is None, test
    assert set(states(test).values()) == {"passed"}
    assert "RSA-SHA256" in next(s.detail for s in test.stages if s.name == "signature")
    assert test.mapped["email"] == email
    assert test.mapped["given_name"] == "Ada" and test.mapped["family_name"] == "Lovelace"
    assert any(email in v for v in test.attributes.values())
    assert test.user == {"outcome": "existing", "user_id": uid, "email": email}
    assert (await latest_test(server.rt, idp.cid, tenant_of(idp))) == test
    assert [t.id for t in await list_tests(server.rt, idp.cid, tenant_of(idp))] == [test_id]
    # the same Response again: the test has its result (and the assertion id is spent)
    again = await answer(server, idp, started, respond(idp, req, identity))
    assert again.status_code == 400
    rows = server.cli_json("audit", "list", idp.slug, "--action", "sso.connection.test")
    assert {r["outcome"] for r in rows} == {"success"} and len(rows) == 2  # started, passed
    assert server.cli_json("audit", "list", idp.slug, "--action", "sso.saml.login") == []


async def test_unknown_person_would_be_created_and_is_not(server: Server, idp: Idp) -> None:
    email = f"grace@{idp.domain}"
    started, test_id, req = await begin(server, idp)
    r = await answer(server, idp, started, respond(idp, req, {"mail": [email]}))
    recorded(r, test_id)
    test = await get_test(server.rt, test_id, tenant_of(idp))
    assert test.status == "passed" and test.user["outcome"] == "would_create"
    users = (await idp.scim.get("/Users", params={"filter": f'userName eq "{email}"'})).json()
    assert users["totalResults"] == 0


async def test_a_person_of_another_domain_or_without_a_seat_fails_the_user_stage(
    server: Server, idp: Idp
) -> None:
    """The test says what just-in-time provisioning would do: refuse an email of a domain
    the tenant does not own (with the remedy), and a new person when the seats are full."""
    started, test_id, req = await begin(server, idp, vendor="okta")
    stranger = "mallory@elsewhere.example"
    recorded(await answer(server, idp, started, respond(idp, req, {"mail": [stranger]})), test_id)
    test = await get_test(server.rt, test_id, tenant_of(idp))
    failed_at(test, "user", "email_domain_not_owned")
    assert test.remedy and stranger in test.remedy and "another domain" in test.remedy
    assert "Assignments" in test.remedy and "Domains" in test.remedy
    server.cli("tenant", "set-seats", idp.slug, "0")
    started, test_id, req = await begin(server, idp)
    email = f"grace@{idp.domain}"
    recorded(await answer(server, idp, started, respond(idp, req, {"mail": [email]})), test_id)
    failed_at(await get_test(server.rt, test_id, tenant_of(idp)), "user", "seat_limit_reached")
    users = (await idp.scim.get("/Users", params={"filter": f'userName eq "{email}"'})).json()
    assert users["totalResults"] == 0


async def test_tests_are_purged_after_their_retention_and_deleted_with_the_connection(
    server: Server, idp: Idp
) -> None:
    """``propylon purge`` removes a result older than the retention (30 days by default) and
    a test never answered that long after it expired; deleting the connection deletes the
    rest in the same transaction."""
    rt, tenant = server.rt, tenant_of(idp)
    ids = []
    for _ in range(2):
        started, test_id, req = await begin(server, idp)
        saml = respond(idp, req, {"mail": [f"ada@{idp.domain}"]})
        recorded(await answer(server, idp, started, saml), test_id)
        ids.append(test_id)
    old, recent = ids
    abandoned = (await begin(server, idp))[1]
    pending = (await begin(server, idp))[1]
    now = rt.clock()
    ages = {
        old: {"finished_at": now - timedelta(days=31)},
        recent: {"finished_at": now - timedelta(days=29)},
        abandoned: {"expires_at": now - timedelta(days=31)},
    }
    async with rt.db.write() as s:
        for test_id, values in ages.items():
            await s.execute(
                update(ConnectionTestRow).where(ConnectionTestRow.id == test_id).values(**values)
            )
    counted = await ops.purge_expired_sign_in_state(rt, CLI, dry_run=True)
    assert counted["connection_tests"] >= 2
    assert len(await list_tests(rt, idp.cid, tenant)) == 4
    purged = server.cli_json("purge")["expired"]
    assert purged["connection_tests"] >= 2
    assert {t.id for t in await list_tests(rt, idp.cid, tenant)} == {recent, pending}
    server.cli("saml", "delete", idp.cid)
    async with rt.db.read() as s:
        left = await s.scalar(
            select(func.count())
            .select_from(ConnectionTestRow)
            .where(ConnectionTestRow.connection_id == idp.cid)
        )
    assert left == 0


async def _other_key(idp: Idp, tmp_path: Path) -> Any:
    """The IdP signing with a key whose certificate the connection does not trust."""
    sp_md = httpx.get(idp.connection["sp_metadata_url"]).content
    return pysaml2_server(tmp_path, idp.entity_id, make_keypair("rogue"), sp_md, idp.sso, idp.slo)


def _wrong_sp(idp: Idp, tmp_path: Path) -> Any:
    """The IdP configured with a mistyped SP entity id (it sends that as the audience)."""
    sp_md = httpx.get(idp.connection["sp_metadata_url"]).content
    entity = idp.connection["sp_entity_id"].encode()
    wrong = sp_md.replace(b'entityID="' + entity + b'"', b'entityID="' + WRONG_SP.encode() + b'"')
    assert wrong != sp_md
    return pysaml2_server(tmp_path, idp.entity_id, idp.key, wrong, idp.sso, idp.slo)


@pytest.mark.parametrize(
    "case",
    ["wrong_certificate", "wrong_audience", "clock_skew", "missing_email", "sha1", "error_status"],
)
async def test_named_failures(
    server: Server, idp: Idp, tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from saml2.xmldsig import DIGEST_SHA1, DIGEST_SHA256, SIG_RSA_SHA1, SIG_RSA_SHA256

    email = f"ada@{idp.domain}"
    identity = {"mail": [email], "givenName": ["Ada"]}
    started, test_id, req = await begin(server, idp, vendor="okta")
    if case == "wrong_certificate":
        saml = respond(idp, req, identity, server=await _other_key(idp, tmp_path))
        stage, reason, words = "signature", "signature_invalid", "certificate"
    elif case == "wrong_audience":
        saml = respond(idp, req, identity, server=_wrong_sp(idp, tmp_path), sp_entity_id=WRONG_SP)
        stage, reason, words = "audience", "audience_mismatch", "Audience URI"
    elif case == "clock_skew":
        ahead = (datetime.now(UTC) + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
        monkeypatch.setattr("saml2.assertion.instant", lambda *a, **k: ahead)
        saml = respond(idp, req, identity)
        stage, reason, words = "time_window", "assertion_not_yet_valid", "clock"
    elif case == "missing_email":
        saml = respond(idp, req, {"givenName": ["Ada"]})
        stage, reason, words = "attributes", "email_missing", "Attribute Statements"
    elif case == "sha1":
        saml = respond(idp, req, identity, sign_alg=SIG_RSA_SHA1, digest_alg=DIGEST_SHA1)
        stage, reason, words = "signature", "sha1_forbidden", "in Okta, open the app's SAML"
    else:
        resp = idp.server.create_error_response(
            req.message.id,
            req.message.assertion_consumer_service_url,
            (AUTHN_FAILED, "ada is not assigned to this app"),
            sign=True,
            sign_alg=SIG_RSA_SHA256,
            digest_alg=DIGEST_SHA256,
        )
        saml = base64.b64encode(str(resp).encode()).decode()
        stage, reason, words = "response_received", "status_not_success", "not assigned"
    recorded(await answer(server, idp, started, saml), test_id)
    test = await get_test(server.rt, test_id, tenant_of(idp))
    # an error Status in a signed Response: its signature was verified before the Status
    failed_at(test, stage, reason, ("signature",) if case == "error_status" else ())
    assert test.remedy is not None and words in test.remedy, test.remedy
    failing = next(s for s in test.stages if s.name == stage)
    if case == "wrong_certificate":
        assert failing.facts["certificates_presented"] != failing.facts["certificates_tried"]
    if case == "clock_skew":
        assert failing.facts["clock_difference_seconds"] < -500
    if case == "wrong_audience":
        assert WRONG_SP in failing.detail and WRONG_SP in test.remedy
    if case == "error_status":
        assert failing.facts["status_code"] == RESPONDER and AUTHN_FAILED in str(failing.facts)
    rows = server.cli_json("audit", "list", idp.slug, "--action", "sso.connection.test")
    assert [r["reason"] for r in rows if r["outcome"] == "failure"] == [reason]


async def test_a_result_of_tenant_a_is_not_readable_from_tenant_b(
    server: Server, idp: Idp, tmp_path: Path
) -> None:
    other = await new_idp(server, tmp_path)
    _, test_id, _ = await begin(server, idp)
    with pytest.raises(NotFound):
        await get_test(server.rt, test_id, tenant_of(other))
    assert await latest_test(server.rt, idp.cid, tenant_of(other)) is None
    assert await list_tests(server.rt, idp.cid, tenant_of(other)) == []
    with pytest.raises(NotFound):  # nor can B test A's connection
        await start_test(server.rt, idp.cid, tenant_of(other), Actor("operator", "op_b"), RESULT)


async def test_the_answer_from_another_browser_is_refused(server: Server, idp: Idp) -> None:
    started, test_id, req = await begin(server, idp)
    saml = respond(idp, req, {"mail": [f"ada@{idp.domain}"]})
    r = await answer(server, idp, started, saml, same_browser=False)
    assert r.status_code == 404  # no test cookie: a normal sign-in, on a draft connection
    server.cli("saml", "enable", idp.cid)
    r = await answer(server, idp, started, saml, same_browser=False)
    assert r.status_code == 400 and "another browser" in r.text
    assert (await get_test(server.rt, test_id, tenant_of(idp))).status == "pending"
    recorded(await answer(server, idp, started, saml), test_id)
    assert (await get_test(server.rt, test_id, tenant_of(idp))).status == "passed"


async def test_result_paths_are_local_pages_only(server: Server, idp: Idp) -> None:
    from propylon.errors import InvalidInput

    for bad in ("https://evil.example/x", "//evil.example/x", "/oauth2/authorize", "/portal/\\x"):
        with pytest.raises(InvalidInput):
            await start_test(server.rt, idp.cid, tenant_of(idp), Actor("operator", "op_test"), bad)


async def test_an_unsigned_response_with_a_wrong_destination_leaves_the_signature_unchecked(
    server: Server, idp: Idp
) -> None:
    """Only the assertion is signed: the Response's Destination is checked before the
    assertion's signature, so the test does not claim the signature passed."""
    started, test_id, req = await begin(server, idp)
    identity = {"mail": [f"ada@{idp.domain}"]}
    wrong = "https://elsewhere.example/acs"
    saml = respond(idp, req, identity, sign_response=False, sign_assertion=True, destination=wrong)
    recorded(await answer(server, idp, started, saml), test_id)
    test = await get_test(server.rt, test_id, tenant_of(idp))
    assert test.failed_stage == "destination" and test.reason == "destination_mismatch"
    assert states(test)["signature"] == "not_reached"
    assert states(test)["issuer"] == "passed"
    assert test.remedy is not None and idp.connection["acs_url"] in test.remedy


async def test_hostile_answers_to_a_test_are_recorded_or_refused_never_a_500(
    server: Server, idp: Idp
) -> None:
    started, test_id, _ = await begin(server, idp)
    forged = StartedLogin(started.url, started.cookie_name, "A" * 60, started.cookie_path, 60)
    r = await answer(server, idp, forged, "PHNhbWw+")
    assert r.status_code == 404  # a forged cookie is no test: a sign-in, on a draft
    r = await answer(server, idp, started, "!!not base64!!")
    recorded(r, test_id)
    test = await get_test(server.rt, test_id, tenant_of(idp))
    assert test.failed_stage == "response_received" and test.reason == "malformed_base64"
