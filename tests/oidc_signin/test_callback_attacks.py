"""Hostile ID tokens through the REAL callback: each is refused with a page (4xx), no
session and an audited reason; never a 5xx (OpenID Connect Core §3.1.3.7, RFC 8725)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from joserfc.jwk import RSAKey

from tests.conftest import Server, start_server, stop_server
from tests.oidc_signin.helpers import (
    audit_reasons,
    finish,
    new_tenant,
    refused_without_session,
    start,
)
from tests.oidc_signin.op import (
    Authorized,
    LoopbackOp,
    attacker_key,
    b64,
    b64json,
    hmac_with_public_key,
    unsigned,
)

Mint = Callable[[LoopbackOp, Authorized], str]


def _claims(op: LoopbackOp, auth: Authorized, **over: Any) -> dict[str, Any]:
    return op.id_claims(auth, sub="victim", email="victim@example.com", **over)


def _signed(**over: Any) -> Mint:
    return lambda op, auth: op.sign(_claims(op, auth, **over))


def _now() -> int:
    return int(time.time())


def _attacker_signed(header: str) -> Mint:
    """Signed with the attacker's own key, which the header points at or embeds."""

    def mint(op: LoopbackOp, auth: Authorized) -> str:
        key = attacker_key()
        public = key.as_dict(private=False)
        where = {
            "jku": {"jku": "https://attacker.example/jwks.json"},
            "x5u": {"x5u": "https://attacker.example/cert.pem"},
            "jwk": {"jwk": public},
            "x5c": {"x5c": ["MIIBfake"]},
        }[header]
        return op.sign(_claims(op, auth), header={"alg": "ES256", **where}, key=key)

    return mint


def _stripped(op: LoopbackOp, auth: Authorized) -> str:
    head, payload, _ = op.sign(_claims(op, auth)).split(".")
    return f"{head}.{payload}."


def _tampered(op: LoopbackOp, auth: Authorized) -> str:
    head, _, signature = op.sign(_claims(op, auth)).split(".")
    return f"{head}.{b64json(_claims(op, auth, sub='admin'))}.{signature}"


def _unknown_kid(op: LoopbackOp, auth: Authorized) -> str:
    other = RSAKey.generate_key(2048, private=True)
    return op.sign(_claims(op, auth), header={"kid": "rotated-away"}, key=other)


ATTACKS: dict[str, Mint] = {
    "alg_none": lambda op, auth: unsigned(_claims(op, auth)),
    "alg_none_with_kid": lambda op, auth: unsigned(_claims(op, auth), {"kid": op.kid}),
    "hmac_keyed_with_public_key": lambda op, auth: hmac_with_public_key(op, _claims(op, auth)),
    "wrong_iss": _signed(iss="https://evil.example"),
    "wrong_aud": _signed(aud="another-client"),
    "wrong_azp": lambda op, auth: op.sign(_claims(op, auth, azp="another-client")),
    "untrusted_extra_audience": lambda op, auth: op.sign(
        _claims(op, auth, aud=[auth.client_id, "untrusted-api"])
    ),
    "expired": lambda op, auth: op.sign(_claims(op, auth, iat=_now() - 7200, exp=_now() - 3600)),
    "iat_far_ahead": lambda op, auth: op.sign(
        _claims(op, auth, iat=_now() + 7200, exp=_now() + 9000)
    ),
    "nbf_ahead": lambda op, auth: op.sign(_claims(op, auth, nbf=_now() + 3600)),
    "nonce_wrong": lambda op, auth: op.sign(_claims(op, auth, nonce="not-the-nonce")),
    "nonce_missing": lambda op, auth: op.sign(_claims(op, auth, nonce=None)),
    "unknown_kid": _unknown_kid,
    "jku_header": _attacker_signed("jku"),
    "x5u_header": _attacker_signed("x5u"),
    "jwk_header": _attacker_signed("jwk"),
    "x5c_header": _attacker_signed("x5c"),
    "stripped_signature": _stripped,
    "tampered_payload": _tampered,
    "not_a_jwt": lambda op, auth: "garbage",
    "huge_claims": lambda op, auth: op.sign(_claims(op, auth, pad="x" * 200_000)),
    "json_array_payload": lambda op, auth: ".".join(
        (b64json({"alg": "RS256", "kid": op.kid}), b64(json.dumps([1, 2]).encode()), b64(b"s"))
    ),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
async def test_hostile_id_token_is_refused_at_the_callback(
    server: Server, op: LoopbackOp, attack: str
) -> None:
    tenant = await new_tenant(server, op, jit=True)
    op.mint = ATTACKS[attack]
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        r = await finish(browser, await start(browser, tenant))
        refused_without_session(r)
        assert "Sign-in failed" in r.text
    assert audit_reasons(server, tenant.slug), "the refusal is audited"


async def test_a_trusted_extra_audience_is_accepted(server: Server, op: LoopbackOp) -> None:
    tenant = await new_tenant(server, op, jit=True, trusted_audiences=("api://shared",))

    def mint(op_: LoopbackOp, auth: Authorized) -> str:
        claims = op_.id_claims(auth, sub="aud-ok", email=f"aud@{tenant.domain}")
        return op_.sign({**claims, "aud": [auth.client_id, "api://shared"], "azp": auth.client_id})

    op.mint = mint
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        r = await finish(browser, await start(browser, tenant))
    assert r.status_code == 302 and "propylon_session" in r.headers["set-cookie"], r.text
    assert "aud" not in "".join(audit_reasons(server, tenant.slug))


async def test_an_unknown_kid_refetches_the_jwks_once_then_refuses(
    server: Server, op: LoopbackOp
) -> None:
    """On a server that may refetch a JWK Set every second: a kid the cached set lacks is
    looked for once more (a key rotation at the OP), then refused; another at once costs the
    OP no request (an attacker cannot make Propylon hammer the OP's JWKS endpoint)."""
    tenant = await new_tenant(server, op, jit=True)
    op.claims = {"sub": "kid-ok", "email": f"kid@{tenant.domain}"}
    url, proc = start_server(
        server.backend, {"PROPYLON_OIDC_JWKS_REFETCH_MIN_INTERVAL_SECONDS": "1"}
    )
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as browser:
            ok = await finish(browser, await start(browser, tenant))
            assert ok.status_code == 302 and op.jwks_hits == 1
            await asyncio.sleep(1.2)
            op.mint = _unknown_kid
            refused_without_session(await finish(browser, await start(browser, tenant)))
            assert op.jwks_hits == 2, "looked for once more"
            refused_without_session(await finish(browser, await start(browser, tenant)))
            assert op.jwks_hits == 2, "not again within the interval"
    finally:
        stop_server(proc)
    assert audit_reasons(server, tenant.slug).count("unknown_kid") == 2
