"""UserInfo (Core §5.3) from the loopback provider."""

from __future__ import annotations

import json

import pytest

from propylon.oidc.errors import OidcError
from propylon.oidc.metadata import ProviderMetadata
from propylon.oidc.userinfo import fetch_userinfo
from tests.oidc.idp import INSIDE, Clock, Idp

JSON = {"Content-Type": "application/json; charset=utf-8"}


async def test_claims_for_the_same_subject_are_returned(idp: Idp, clock: Clock) -> None:
    idp.userinfo_answer = (200, JSON, json.dumps({"sub": "user-1", "email": "a@b.c"}).encode())
    meta = await idp.cache(clock).metadata(idp.issuer)
    assert await fetch_userinfo(meta, "at-1", "user-1", INSIDE) == {
        "sub": "user-1",
        "email": "a@b.c",
    }
    [request] = [r for r in idp.server.requests if r.path == "/userinfo"]
    assert (request.method, request.headers["authorization"]) == ("GET", "Bearer at-1")


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ((200, JSON, b'{"sub": "user-2"}'), "subject_mismatch"),
        ((200, JSON, b'{"email": "a@b.c"}'), "subject_mismatch"),
        ((200, JSON, b'["sub"]'), "userinfo_invalid"),
        ((200, JSON, b"{"), "userinfo_invalid"),
        ((200, {"Content-Type": "application/jwt"}, b"a.b.c"), "userinfo_invalid"),
        ((200, JSON, b'{"sub": "user-1", "x": "' + b"y" * 70_000 + b'"}'), "userinfo_invalid"),
        ((401, JSON, b'{"error": "invalid_token"}'), "userinfo_failed"),
    ],
)
async def test_anything_else_is_refused(
    idp: Idp, clock: Clock, answer: tuple[int, dict[str, str], bytes], reason: str
) -> None:
    idp.userinfo_answer = answer
    meta = await idp.cache(clock).metadata(idp.issuer)
    with pytest.raises(OidcError) as caught:
        await fetch_userinfo(meta, "at-1", "user-1", INSIDE)
    assert (caught.value.reason, caught.value.stage) == (reason, "userinfo")


async def test_a_provider_without_the_endpoint(idp: Idp, clock: Clock) -> None:
    meta = await idp.cache(clock).metadata(idp.issuer)
    bare = ProviderMetadata(**{**meta.__dict__, "userinfo_endpoint": None})
    with pytest.raises(OidcError) as caught:
        await fetch_userinfo(bare, "at-1", "user-1", INSIDE)
    assert caught.value.reason == "userinfo_unavailable"
