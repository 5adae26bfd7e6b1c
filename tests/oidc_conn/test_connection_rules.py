"""What an OIDC connection must be before it is stored, through the admin operations the CLI
and the API call (in-process, on both backends): every refusal is an :class:`InvalidInput`
naming the problem, audited, with nothing stored."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from propylon.admin import oidc_connections as ops
from propylon.admin.audited import CLI
from propylon.errors import InvalidInput
from propylon.tenants.oidc_connections import OidcConnectionDraft
from tests.conftest import Server
from tests.interop.oidc_op import Op
from tests.loopback_http import LoopbackHttp
from tests.oidc_conn.helpers import NEEDS_OP, ec_key, key_file, new_tenant, rsa_key

pytestmark = NEEDS_OP
SECRET = "rules-s3cret"


async def refusal(server: Server, slug: str, draft: OidcConnectionDraft) -> str:
    with pytest.raises(InvalidInput) as caught:
        await ops.create_connection(server.rt, CLI, slug, draft)
    return caught.value.detail


async def test_an_issuer_that_is_not_a_usable_url_is_refused(server: Server) -> None:
    slug = await new_tenant(server)
    cases = [
        ("http://8.8.8.8", "loopback or private"),  # plain http to a public address
        ("ftp://127.0.0.1/x", "https URL"),
        ("https://127.0.0.1:1/?tenant=a", "no query"),
        ("https://127.0.0.1:1/#top", "no query, fragment"),
        ("https://user@127.0.0.1:1", "user info"),
        ("https://" + "a" * 1100 + ".example", "1 to 1024"),
        ("https:///path-only", "with a host"),
    ]
    for issuer, why in cases:
        draft = OidcConnectionDraft(issuer=issuer, client_id="rp", client_secret=SECRET)
        assert why in await refusal(server, slug, draft), issuer
    assert await ops.list_connections(server.rt, slug) == []


async def test_an_issuer_whose_discovery_fails_is_refused(server: Server, op: Op) -> None:
    slug = await new_tenant(server)
    closed = LoopbackHttp(lambda path: (200, {}, b""))
    closed.close()
    not_json = LoopbackHttp(lambda path: (200, {"Content-Type": "text/html"}, b"<html>"))
    try:
        for origin in (closed.origin, not_json.origin, op.url + "/other-tenant"):
            draft = OidcConnectionDraft(issuer=origin, client_id="rp", client_secret=SECRET)
            assert "discovery failed" in await refusal(server, slug, draft), origin
    finally:
        not_json.close()
    assert await ops.list_connections(server.rt, slug) == []


async def test_the_credential_must_fit_the_authentication_method(
    server: Server, op: Op, tmp_path: Path
) -> None:
    slug = await new_tenant(server)
    good = OidcConnectionDraft(issuer=op.url, client_id="rp", client_secret=SECRET)
    pem = key_file(tmp_path, ec_key()).read_text()
    weak = key_file(tmp_path, rsa_key(1024), "weak.pem").read_text()
    p384 = key_file(tmp_path, ec.generate_private_key(ec.SECP384R1()), "p384.pem").read_text()
    cases = [
        (replace(good, auth_method="private_key_jwt"), "needs a private key"),
        (
            replace(
                good, client_secret=None, private_key_pem=pem, auth_method="client_secret_post"
            ),
            "needs a client secret",
        ),
        (replace(good, private_key_pem=pem), "not both"),
        (replace(good, auth_method="client_secret_jwt"), "auth_method must be one of"),
        (replace(good, client_secret=None, private_key_pem=weak), "at least 2048"),
        (replace(good, client_secret=None, private_key_pem=p384), "or EC P-256"),
        (replace(good, client_secret=None, private_key_pem="-----BEGIN CERTIFICATE-----"), "PEM"),
        (replace(good, client_secret="line\nbreak"), "control characters"),
        (replace(good, client_secret=""), "1 to 2048"),
        (replace(good, client_id=" rp"), "surrounding spaces"),
        (replace(good, scopes=['a"b']), "scope token"),
        (replace(good, scopes=[f"s{i}" for i in range(40)]), "at most 32 scopes"),
        (replace(good, trusted_audiences=["x" * 256]), "1 to 255"),
        (replace(good, preset="ping"), "unknown preset"),
        (replace(good, match_by="upn"), "match_by"),
        (replace(good, claim_overrides={"shoe_size": "shoe"}), "unknown user field"),
        (replace(good, claim_overrides={"email": ""}), "non-empty strings"),
        (replace(good, name=" "), "1 to 255"),
    ]
    for draft, why in cases:
        assert why in await refusal(server, slug, draft), (draft, why)
    assert await ops.list_connections(server.rt, slug) == []
    failures = server.cli_json("audit", "list", slug, "--action", "oidc.connection.create")
    assert len(failures) == len(cases) and {f["outcome"] for f in failures} == {"failure"}
