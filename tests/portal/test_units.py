"""The pure parts of the portal: durations and intents as the CLI and API take them, return
URLs (https only; http to loopback only where private hosts are allowed), the session
cookie's attributes, the side navigation of a grant."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.responses import Response

from propylon.admin.portal_links import check_return_url, parse_duration, parse_intents
from propylon.api.portal_auth import portal_nav, set_portal_cookie
from propylon.errors import InvalidInput
from propylon.portal.model import PortalGrant
from propylon.settings import Settings


def _rt(**settings: Any) -> Any:
    return SimpleNamespace(settings=Settings(**settings))


@pytest.mark.parametrize(
    "value, seconds",
    [("30m", 1800), ("1h", 3600), ("2d", 172800), ("90", 90), (" 45s ", 45), (600, 600)],
)
def test_durations(value: str | int, seconds: int) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["0", "0h", "-1h", "1w", "soon", "", "1.5h", 0, -5])
def test_bad_durations(value: str | int) -> None:
    with pytest.raises(InvalidInput):
        parse_duration(value)


def test_intents() -> None:
    assert parse_intents(["roles", "SSO"]) == ["sso", "roles"]
    assert parse_intents(["all", "sso"]) == ["sso", "scim", "domains", "roles"]
    for bad in ([], ["admin"], ["sso", "console"]):
        with pytest.raises(InvalidInput):
            parse_intents(bad)


def test_return_urls() -> None:
    strict, loose = _rt(), _rt(outbound_allow_private_hosts=True)
    assert check_return_url(strict, "https://p.example/x?y=1") == "https://p.example/x?y=1"
    assert check_return_url(strict, None) is None and check_return_url(strict, "") is None
    assert check_return_url(loose, "http://127.0.0.1:9000/done") == "http://127.0.0.1:9000/done"
    assert check_return_url(loose, "http://localhost/done") == "http://localhost/done"
    for bad in (
        "http://127.0.0.1:9000/done",
        "http://p.example/",
        "javascript:alert(1)",
        "data:text/html,x",
        "https://user:pw@p.example/",
        "https:///nohost",
        "//p.example/",
        "https://p.example/\nx",
        "https://" + "a" * 2000 + ".example/",
    ):
        with pytest.raises(InvalidInput):
            check_return_url(strict, bad)
    with pytest.raises(InvalidInput):
        check_return_url(loose, "http://10.0.0.1/")  # plain http only to loopback


def test_the_cookie_is_secure_over_https_and_scoped_to_the_portal() -> None:
    response = Response()
    set_portal_cookie(response, "pss_x", _rt(public_url="https://id.example.com"))
    cookie = response.headers["set-cookie"]
    for part in ("propylon_portal=pss_x", "HttpOnly", "Secure", "Path=/portal", "SameSite=lax"):
        assert part in cookie
    assert "Max-Age=3600" in cookie


def test_the_side_navigation_follows_the_intents() -> None:
    grant = PortalGrant(
        link_id="plk_a",
        session_id="psn_a",
        tenant_id="tenant_a",
        tenant_slug="a",
        tenant_name="A",
        intents=frozenset({"scim", "roles"}),
        expires_at=datetime.now(UTC),
        return_url=None,
        csrf_token="x" * 64,
    )
    assert portal_nav(grant, "roles") == [
        ("/portal", "Overview", False),
        ("/portal/scim", "User provisioning (SCIM)", False),
        ("/portal/roles", "Roles", True),
    ]
    assert portal_nav(grant, "overview")[0] == ("/portal", "Overview", True)


def test_one_csrf_scheme_bound_to_a_cookie_or_a_portal_session() -> None:
    """The portal's forms use ``api/csrf.py``'s scheme bound to the session id: a token of one
    session is worthless in another, a rotated-out key still accepted, and a cookie-bound
    field never passes for a portal session (its own subkey label)."""
    from propylon.api.csrf import csrf_of
    from propylon.api.portal_auth import portal_csrf
    from propylon.crypto.secretbox import SecretBox

    old, new = b"o" * 32, b"n" * 32
    before = SimpleNamespace(secret_box=SecretBox([old]))
    after = SimpleNamespace(secret_box=SecretBox([new, old]))
    token = portal_csrf(before).field_for("pss_a")  # type: ignore[arg-type]
    assert len(token) == 64
    assert portal_csrf(after).check_bound("pss_a", token)  # type: ignore[arg-type]
    assert not portal_csrf(after).check_bound("pss_b", token)  # type: ignore[arg-type]
    assert not portal_csrf(after).check_bound("pss_a", token[::-1])  # type: ignore[arg-type]
    assert not portal_csrf(after).check_bound("", token)  # type: ignore[arg-type]
    cookie_field = csrf_of(after.secret_box.subkeys).field_for("pss_a")
    assert not portal_csrf(after).check_bound("pss_a", cookie_field)  # type: ignore[arg-type]
