"""The demo's data, made through the service layers (each step audited like any other) and
idempotent: a second run finds what the first made and makes only what is missing, and
points what depends on the public URL (the app's redirect URI, the test IdP's entity id and
SSO URL) at the current one.

- tenant ``demo`` (domain ``demo.example``) with one SAML connection to the built-in test IdP;
- a SCIM directory whose people and groups are created over the SCIM service layer with the
  directory's own token, as an IdP would push them;
- the role catalogue and the tenant's rules: group Clinicians → role clinician, tier premium;
  department Engineering or group Engineering → role admin; group Beta testers → program
  beta; everyone viewer, tier basic;
- the demo host's confidential app (redirect URI ``{public_url}/demo/callback``) and a
  management API key for its SDK's event stream."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from propylon import errors
from propylon.admin import apps, entitlements
from propylon.admin import saml_connections as saml_admin
from propylon.admin import tenants as ops
from propylon.admin.test_idp import connect_test_idp
from propylon.audit import Actor
from propylon.demo.state import DOMAIN, TENANT_SLUG, DemoState, load_state, save_state
from propylon.runtime import Runtime
from propylon.scim import groups as scim_groups
from propylon.scim import users as scim_users
from propylon.scim.listing import Selection
from propylon.scim.service import ScimRequest
from propylon.tenants.saml_connection_edits import ConnectionChanges
from propylon.tenants.saml_connections import IdpSource
from propylon.testidp.identity import saml_identity

DEMO = Actor("cli", "propylon demo")
APP_NAME = "Demo host app"
API_KEY_NAME = "demo host app (event stream)"
CONNECTION_NAME = "Propylon test IdP"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@dataclass(frozen=True)
class Person:
    email: str
    given: str
    family: str
    department: str
    groups: tuple[str, ...]
    gets: str
    """What the rules give them at first, in words (the demo's welcome page)."""


PEOPLE = (
    Person(
        "ada@demo.example",
        "Ada",
        "Lovelace",
        "Engineering",
        ("Engineering", "Beta testers"),
        "role admin (department and group Engineering), program beta (group Beta testers)",
    ),
    Person(
        "grace@demo.example",
        "Grace",
        "Hopper",
        "Clinical",
        ("Clinicians",),
        "role clinician and tier premium (group Clinicians)",
    ),
    Person("alan@demo.example", "Alan", "Turing", "Research", (), "the defaults: viewer, basic"),
)
GROUPS = ("Clinicians", "Beta testers", "Engineering")
CATALOG = (
    ("role", "viewer"),
    ("role", "clinician"),
    ("role", "admin"),
    ("tier", "basic"),
    ("tier", "premium"),
    ("program", "beta"),
)
RULES: dict[str, Any] = {
    "defaults": {"roles": ["viewer"], "tier": "basic", "programs": []},
    "rules": [
        {
            "name": "clinicians",
            "priority": 20,
            "when": {"any_groups": ["Clinicians"]},
            "grant": {"roles": ["clinician"], "tier": "premium"},
        },
        {
            "name": "engineering department",
            "priority": 10,
            "when": {"attributes": [{"attr": "department", "op": "eq", "value": "Engineering"}]},
            "grant": {"roles": ["admin"]},
        },
        {
            "name": "engineering group",
            "priority": 10,
            "when": {"any_groups": ["Engineering"]},
            "grant": {"roles": ["admin"]},
        },
        {
            "name": "beta testers",
            "priority": 5,
            "when": {"any_groups": ["Beta testers"]},
            "grant": {"programs": ["beta"]},
        },
    ],
}


def redirect_uri(public_url: str) -> str:
    return public_url.rstrip("/") + "/demo/callback"


async def seed(rt: Runtime, data_dir: Path) -> DemoState:
    """Make what is missing of the demo and save the host's state; returns it."""
    before = load_state(data_dir)
    tenant_id = await _tenant(rt)
    directory_id, token = await _directory(rt, before)
    group_ids = await _people(rt, directory_id, token)
    await _roles(rt)
    client_id, client_secret = await _app(rt, before)
    key_id, key = await _api_key(rt, before)
    connection_id = await _connection(rt)
    state = DemoState(
        tenant_id=tenant_id,
        client_id=client_id,
        client_secret=client_secret,
        api_key_id=key_id,
        api_key=key,
        directory_id=directory_id,
        scim_token=token,
        connection_id=connection_id,
        groups=group_ids,
        people={p.email: p.gets for p in PEOPLE},
    )
    save_state(data_dir, state)
    return state


async def _tenant(rt: Runtime) -> str:
    try:
        return (await ops.describe_tenant(rt, TENANT_SLUG)).id
    except errors.NotFound:
        view = await ops.create_tenant(
            rt, DEMO, slug=TENANT_SLUG, name="Demo Health", domains=[DOMAIN], seats=None
        )
        return view.id


async def _directory(rt: Runtime, before: DemoState | None) -> tuple[str, str]:
    listed = {d["directory_id"] for d in await ops.list_directories(rt, TENANT_SLUG)}
    if before is not None and before.directory_id in listed:
        return before.directory_id, before.scim_token
    if listed:  # made by an earlier run whose state is gone: a new token for the host
        directory_id = sorted(listed)[0]
        return directory_id, (await ops.rotate_token(rt, DEMO, directory_id))["token"]
    made = await ops.create_directory(rt, DEMO, TENANT_SLUG, name="Demo directory")
    return made["directory_id"], made["token"]


async def _find(req: ScimRequest, resource: str, attr: str, value: str) -> str | None:
    finder = scim_users.find if resource == "User" else scim_groups.find
    found = await finder(req, {"filter": f'{attr} eq "{value}"'})
    resources = (found.body or {}).get("Resources", [])
    return str(resources[0]["id"]) if resources else None


async def _people(rt: Runtime, directory_id: str, token: str) -> dict[str, str]:
    """The people and groups over SCIM; a group made here starts with its seeded members
    (one that exists keeps the members it has: the demo page changes them)."""
    req = ScimRequest(rt, directory_id, token, address="propylon-demo")
    everyone = Selection.parse(None, None)
    user_ids: dict[str, str] = {}
    for p in PEOPLE:
        found = await _find(req, "User", "userName", p.email)
        if found is None:
            body = {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
                "userName": p.email,
                "name": {"givenName": p.given, "familyName": p.family},
                "displayName": f"{p.given} {p.family}",
                "emails": [{"value": p.email, "type": "work", "primary": True}],
                "active": True,
                ENTERPRISE: {"department": p.department},
            }
            made = await scim_users.create(req, body, everyone)
            found = str((made.body or {})["id"])
        user_ids[p.email] = found
    group_ids: dict[str, str] = {}
    for name in GROUPS:
        found = await _find(req, "Group", "displayName", name)
        if found is None:
            members = [{"value": user_ids[p.email]} for p in PEOPLE if name in p.groups]
            body = {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": name,
                "members": members,
            }
            made = await scim_groups.create(req, body, everyone)
            found = str((made.body or {})["id"])
        group_ids[name] = found
    return group_ids


async def _roles(rt: Runtime) -> None:
    declared = {(e["kind"], e["name"]) for e in await entitlements.catalog_list(rt)}
    for kind, name in CATALOG:
        if (kind, name) not in declared:
            await entitlements.catalog_add(rt, DEMO, kind, name, "propylon demo")
    if (await entitlements.rules_show(rt, TENANT_SLUG))["version"] == 0:  # never set: ours
        await entitlements.rules_set(rt, DEMO, TENANT_SLUG, RULES)


async def _app(rt: Runtime, before: DemoState | None) -> tuple[str, str]:
    uri = redirect_uri(rt.settings.public_url)
    live = {a["client_id"]: a for a in await apps.list_apps(rt)}
    if before is not None and before.client_id in live:
        if live[before.client_id]["redirect_uris"] != [uri]:
            await apps.update_app(rt, DEMO, before.client_id, redirect_uris=[uri])
        return before.client_id, before.client_secret
    made = await apps.create_app(rt, DEMO, name=APP_NAME, redirect_uris=[uri])
    return str(made["client_id"]), str(made["client_secret"])


async def _api_key(rt: Runtime, before: DemoState | None) -> tuple[str, str]:
    live = {k["id"] for k in await ops.list_api_keys(rt) if k["revoked_at"] is None}
    if before is not None and before.api_key_id in live:
        return before.api_key_id, before.api_key
    made = await ops.create_api_key(rt, DEMO, API_KEY_NAME)
    return made["id"], made["key"]


async def _connection(rt: Runtime) -> str:
    """The tenant's SAML connection to the test IdP, following the IdP's current entity id
    and SSO URL (both derive from the public URL); live, which only the demo tenant's may be
    and only while the demo is enabled (``testidp/connections.py``)."""
    idp = await saml_identity(rt)
    metadata = idp.metadata_xml
    source = IdpSource(metadata_xml=metadata.encode() if isinstance(metadata, str) else metadata)
    for conn in await saml_admin.list_connections(rt, TENANT_SLUG):
        if conn["name"] != CONNECTION_NAME:
            continue
        if conn["idp_entity_id"] != idp.entity_id or conn["idp_sso_url"] != idp.sso_url:
            await saml_admin.update_connection(
                rt, DEMO, conn["connection_id"], ConnectionChanges(source=source)
            )
        return str(conn["connection_id"])
    made = await connect_test_idp(
        rt, DEMO, TENANT_SLUG, "saml", disabled=False, name=CONNECTION_NAME, jit=False
    )
    return str(made["connection_id"])
