"""The IdP's group claim at a SAML sign-in is an input of the rules: the tokens of that very
sign-in carry the result, and the next sign-in with other groups changes it (versioned)."""

from __future__ import annotations

from propylon.admin import entitlements as ops
from propylon.admin.audited import CLI
from propylon.entitlements.model import EVENT_TYPE
from tests.conftest import Server
from tests.entitlements.helpers import clinical_rules, events_of, suffix
from tests.sso.test_attribute_mapping import sign_in
from tests.sso.test_saml_login import new_org


async def test_saml_group_claim_grants_roles_at_sign_in_and_a_later_sign_in_removes_them(
    server: Server,
) -> None:
    s = suffix()
    org = await new_org(server, jit=True)
    await ops.rules_set(server.rt, CLI, org.slug, await clinical_rules(server, s))
    email = f"nina-{s}@{org.domain}"
    got = await sign_in(server, org, email, {"email": [email], "groups": [f"nurses-{s}", "x"]})
    for claims in got.values():
        assert claims["roles"] == sorted([f"clinician-{s}", f"viewer-{s}"])
        assert claims["programs"] == [f"p-{s}"] and claims["entitlements_version"] == 1
    got = await sign_in(server, org, email, {"email": [email], "groups": ["x"]})
    for claims in got.values():
        assert claims["roles"] == [f"viewer-{s}"] and claims["entitlements_version"] == 2
    user_id = got["id_token"]["sub"]
    out = await ops.user_entitlements(server.rt, org.slug, user_id)
    assert out["groups"] == {"scim": [], "idp": ["x"]}
    events = await events_of(server, got["id_token"]["org_id"], EVENT_TYPE)
    assert [e.data["entitlements"]["version"] for e in events] == [1, 2]


async def test_a_user_provisioned_at_sign_in_without_groups_gets_the_tenant_defaults(
    server: Server,
) -> None:
    s = suffix()
    org = await new_org(server, jit=True)
    await ops.rules_set(server.rt, CLI, org.slug, await clinical_rules(server, s))
    email = f"omar-{s}@{org.domain}"
    got = await sign_in(server, org, email, {"email": [email]})
    assert got["id_token"]["roles"] == [f"viewer-{s}"]
    assert got["id_token"]["tier"] == f"basic-{s}"
    assert got["userinfo"]["entitlements_version"] == 1


async def test_the_department_an_idp_sends_at_sign_in_feeds_attribute_rules(
    server: Server,
) -> None:
    """An SSO-only user's department is an input too: provisioned with it, the tier of the
    department rule is in the first tokens; moved by the IdP, the next sign-in's tokens lose
    it, the user's stored department follows, and both changes are events."""
    s = suffix()
    org = await new_org(server, jit=True)
    await ops.rules_set(server.rt, CLI, org.slug, await clinical_rules(server, s))
    email = f"ida-{s}@{org.domain}"
    got = await sign_in(server, org, email, {"email": [email], "department": ["Clinical"]})
    assert got["id_token"]["tier"] == f"pro-{s}"
    got = await sign_in(server, org, email, {"email": [email], "department": ["Finance"]})
    assert got["id_token"]["tier"] == f"basic-{s}"
    assert got["userinfo"]["entitlements_version"] == 2
    user_id, tenant_id = got["id_token"]["sub"], got["id_token"]["org_id"]
    updates = await events_of(server, tenant_id, "user.updated")
    moved = [e for e in updates if e.subject_id == user_id]
    assert [e.data["department"] for e in moved] == [{"before": "Clinical", "after": "Finance"}]
    assert moved[0].data["user"]["department"] == "Finance"
