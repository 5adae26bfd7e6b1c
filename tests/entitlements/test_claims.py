"""ID token, access token, userinfo and introspection carry the entitlements; ``groups``
only with the ``groups`` scope; introspection answers the entitlements of now, not the
token's copy."""

from __future__ import annotations

from typing import Any

import httpx

from propylon.admin import entitlements as ops
from propylon.admin.audited import CLI
from tests.conftest import Server
from tests.entitlements.helpers import clinical_rules, suffix
from tests.provider.helpers import (
    REDIRECT,
    App,
    Person,
    auth_params,
    authorize,
    basic,
    browser,
    decode,
    new_app,
    new_person,
    pkce,
    token_request,
)

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


async def tokens(server: Server, app: App, person: Person, scope: str) -> dict[str, Any]:
    verifier, challenge = pkce()
    params = auth_params(app, scope=scope, code_challenge=challenge, code_challenge_method="S256")
    async with browser(server, person) as b:
        q = await authorize(b, params)
        data = {
            "grant_type": "authorization_code",
            "code": q["code"],
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        }
        r = await token_request(b, app, data)
        assert r.status_code == 200, r.text
        out: dict[str, Any] = r.json()
        return out


async def test_tokens_userinfo_and_introspection_carry_entitlements_and_groups_with_scope(
    server: Server,
) -> None:
    s = suffix()
    app, person = await new_app(server), await new_person(server)
    await ops.rules_set(server.rt, CLI, person.tenant_slug, await clinical_rules(server, s))
    scim = httpx.AsyncClient(
        base_url=person.directory_base, headers={"Authorization": f"Bearer {person.scim_token}"}
    )
    async with scim:
        r = await scim.post(
            "/Groups",
            json={
                "schemas": [GROUP],
                "displayName": f"Nurses-{s}",
                "members": [{"value": person.user_id}],
            },
        )
        assert r.status_code == 201, r.text
        gid = r.json()["id"]
        want = {
            "roles": sorted([f"clinician-{s}", f"viewer-{s}"]),
            "tier": f"basic-{s}",
            "programs": [f"p-{s}"],
            "entitlements_version": 2,
        }
        plain = await tokens(server, app, person, "openid profile email")
        grouped = await tokens(server, app, person, "openid email groups")
        for tok, groups in ((plain, None), (grouped, [f"Nurses-{s}"])):
            for jwt_ in (tok["id_token"], tok["access_token"]):
                _, claims = await decode(server, jwt_)
                assert {k: claims.get(k) for k in want} == want
                assert claims.get("groups") == groups
        async with httpx.AsyncClient(base_url=server.url) as c:
            auth = {"Authorization": f"Bearer {grouped['access_token']}"}
            info = (await c.get("/oauth2/userinfo", headers=auth)).json()
            assert {k: info.get(k) for k in want} == want and info["groups"] == [f"Nurses-{s}"]
            plain_info = await c.get(
                "/oauth2/userinfo", headers={"Authorization": f"Bearer {plain['access_token']}"}
            )
            assert "groups" not in plain_info.json()
            # leaving the group: the token keeps its copy, introspection says what holds now
            leave = {"op": "remove", "path": f'members[value eq "{person.user_id}"]'}
            r = await scim.patch(f"/Groups/{gid}", json={"schemas": [PATCH], "Operations": [leave]})
            assert r.status_code in (200, 204), r.text
            for tok in (grouped["access_token"], grouped["refresh_token"]):
                r = await c.post("/oauth2/introspect", data={"token": tok}, auth=basic(app))
                body = r.json()
                assert body["active"] is True
                assert body["roles"] == [f"viewer-{s}"] and body["programs"] == []
                assert body["entitlements_version"] == 3 and body["groups"] == []
            meta = (await c.get("/.well-known/openid-configuration")).json()
            assert "groups" in meta["scopes_supported"]
            assert {"roles", "tier", "programs", "entitlements_version", "groups"} <= set(
                meta["claims_supported"]
            )
