"""A refused SAML sign-in tells the person a request id, and the audit entry with that id
tells the administrator why: the named stage and its facts (expected vs received issuer and
audience, the clock difference, the certificate fingerprints tried vs presented, the
asserted NameID)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from cryptography.hazmat.primitives import hashes

from propylon.saml.diagnosis import fingerprint
from tests.conftest import Server
from tests.http.test_scim_users import user_body
from tests.saml.idp import build
from tests.sso.test_saml_acs_attacks import ATTACKER, _post_for, b64, refused, spec_for
from tests.sso.test_saml_login import IDP, new_org


def _fp(cert: Any) -> str:
    return fingerprint(cert.fingerprint(hashes.SHA256()))


async def test_failed_login_audit_entry_says_why_under_the_page_request_id(
    server: Server,
) -> None:
    org = await new_org(server)
    email = f"d@{org.domain}"
    await org.scim.post("/Users", json=user_body(email))
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    cases = {
        "audience": ({"audience": "https://other-sp.example/"}, org.idp),
        "issuer": ({"issuer": "https://wrong-idp.example/"}, org.idp),
        "expired": ({"now": past}, org.idp),
        "certificate": ({}, ATTACKER),
    }
    seen: dict[str, dict[str, Any]] = {}
    for name, (kw, key) in cases.items():

        def make(rid: str, kw: dict[str, Any] = kw, key: Any = key) -> str:
            return b64(build(spec_for(org, email, rid, **kw), idp=key))

        r = await _post_for(server, org, email, make)
        refused(r)
        shown = re.search(r'<code id="request-id">([^<]+)</code>', r.text)
        assert shown is not None, r.text
        assert shown.group(1) == r.headers["x-request-id"]
        seen[name] = {"request_id": shown.group(1)}
    rows = server.cli_json("audit", "list", org.slug, "--action", "sso.saml.login")
    by_request = {row["request_id"]: row for row in rows if row["outcome"] == "failure"}
    diag = {n: by_request[s["request_id"]]["diff"]["diagnosis"] for n, s in seen.items()}

    audience = diag["audience"]
    assert by_request[seen["audience"]["request_id"]]["reason"] == "audience_mismatch"
    assert audience["stage"] == "conditions"
    assert audience["expected_audience"] == org.connection["sp_entity_id"]
    assert audience["received_audiences"] == ["https://other-sp.example/"]
    assert audience["name_id"] == email  # verified before the audience was checked

    issuer = diag["issuer"]
    assert issuer["stage"] == "issuer"
    assert issuer["expected_issuer"] == IDP
    assert issuer["received_issuer"] == "https://wrong-idp.example/"

    expired = diag["expired"]
    assert expired["stage"] in {"subject", "conditions"}
    assert 6000 < expired["clock_difference_seconds"] < 8000
    assert expired["allowed_skew_seconds"] == 120 and expired["name_id"] == email

    cert = diag["certificate"]
    assert cert["stage"] == "signature"
    assert cert["certificates_tried"] == [_fp(org.idp.cert)]
    assert cert["certificates_presented"] == [_fp(ATTACKER.cert)]
    assert cert["signature_algorithm"].endswith("rsa-sha256")
    assert cert["digest_algorithm"].endswith("sha256")
    assert "name_id" not in cert  # nothing unverified is repeated as if it were known
