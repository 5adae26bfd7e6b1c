"""A typed client of Propylon's management API (``/api/v1``, API key), kept in step with the
served OpenAPI document: :data:`OPERATIONS` names every operation's method, path, query
parameters and body fields, and ``tests/sdk/test_management_openapi.py`` compares the table
with ``/openapi.json`` both ways. Errors are :class:`ApiError` (RFC 9457 problem document).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict
from urllib.parse import quote

import httpx

from propylon.sdk.errors import ApiError
from propylon.sdk.events import Event, iter_events


@dataclass(frozen=True)
class Op:
    method: str
    path: str
    query: tuple[str, ...] = ()
    body: tuple[str, ...] | None = None
    """Field names of the JSON body (``None``: the operation takes no body)."""


_SAML = (
    "name", "preset", "metadata_url", "metadata_xml", "idp_entity_id", "sso_url",
    "certificates_pem", "attribute_map", "match_by", "jit", "allow_idp_initiated",
    "idp_initiated_app",
)  # fmt: skip
_OIDC = (
    "name", "preset", "issuer", "client_id", "client_secret", "private_key_pem", "auth_method",
    "scopes", "claim_map", "match_by", "jit", "userinfo", "trusted_audiences",
)  # fmt: skip

OPERATIONS: dict[str, Op] = {
    "list_tenants": Op("GET", "/api/v1/tenants"),
    "create_tenant": Op("POST", "/api/v1/tenants", body=("slug", "name", "domains", "seats")),
    "get_tenant": Op("GET", "/api/v1/tenants/{tenant}"),
    "update_tenant": Op(
        "PATCH",
        "/api/v1/tenants/{tenant}",
        body=(
            "name",
            "seats",
            "unlimited_seats",
            "enforce_sso",
            "allow_password",
            "allow_google",
            "hostname",
        ),
    ),
    "delete_tenant": Op("DELETE", "/api/v1/tenants/{tenant}"),
    "create_directory": Op("POST", "/api/v1/tenants/{tenant}/scim-directories", body=("name",)),
    "list_directories": Op("GET", "/api/v1/tenants/{tenant}/scim-directories"),
    "rotate_token": Op("POST", "/api/v1/scim-directories/{directory_id}/rotate-token"),
    "revoke_token": Op("POST", "/api/v1/scim-directories/{directory_id}/revoke-token"),
    "delete_directory": Op("DELETE", "/api/v1/scim-directories/{directory_id}"),
    "list_users": Op(
        "GET", "/api/v1/tenants/{tenant}/users", ("offset", "limit", "active", "email", "group")
    ),
    "get_user": Op("GET", "/api/v1/tenants/{tenant}/users/{user_id}"),
    "list_groups": Op("GET", "/api/v1/tenants/{tenant}/groups", ("offset", "limit")),
    "get_group": Op("GET", "/api/v1/tenants/{tenant}/groups/{group_id}"),
    "list_api_keys": Op("GET", "/api/v1/api-keys"),
    "tenant_audit": Op("GET", "/api/v1/tenants/{tenant}/audit", ("limit", "action")),
    "audit": Op("GET", "/api/v1/audit", ("limit", "action")),
    "list_apps": Op("GET", "/api/v1/apps"),
    "create_app": Op(
        "POST",
        "/api/v1/apps",
        body=("name", "redirect_uris", "post_logout_redirect_uris", "public"),
    ),
    "get_app": Op("GET", "/api/v1/apps/{client_id}"),
    "update_app": Op(
        "PATCH",
        "/api/v1/apps/{client_id}",
        body=("name", "redirect_uris", "post_logout_redirect_uris"),
    ),
    "revoke_app": Op("DELETE", "/api/v1/apps/{client_id}"),
    "create_saml_connection": Op(
        "POST", "/api/v1/tenants/{tenant}/saml-connections", body=(*_SAML, "sp_entity_id")
    ),
    "list_saml_connections": Op("GET", "/api/v1/tenants/{tenant}/saml-connections"),
    "get_saml_connection": Op("GET", "/api/v1/saml-connections/{connection_id}"),
    "update_saml_connection": Op(
        "PATCH", "/api/v1/saml-connections/{connection_id}", body=(*_SAML, "disabled")
    ),
    "delete_saml_connection": Op("DELETE", "/api/v1/saml-connections/{connection_id}"),
    "create_oidc_connection": Op("POST", "/api/v1/tenants/{tenant}/oidc-connections", body=_OIDC),
    "list_oidc_connections": Op("GET", "/api/v1/tenants/{tenant}/oidc-connections"),
    "get_oidc_connection": Op("GET", "/api/v1/oidc-connections/{connection_id}"),
    "update_oidc_connection": Op(
        "PATCH", "/api/v1/oidc-connections/{connection_id}", body=(*_OIDC, "disabled")
    ),
    "delete_oidc_connection": Op("DELETE", "/api/v1/oidc-connections/{connection_id}"),
    "list_domains": Op("GET", "/api/v1/tenants/{tenant}/domains"),
    "add_domain": Op("POST", "/api/v1/tenants/{tenant}/domains", body=("domain", "connection_id")),
    "bind_domain": Op(
        "PATCH", "/api/v1/tenants/{tenant}/domains/{domain}", body=("connection_id",)
    ),
    "remove_domain": Op("DELETE", "/api/v1/tenants/{tenant}/domains/{domain}"),
    "start_domain_verification": Op(
        "POST", "/api/v1/tenants/{tenant}/domains/{domain}/verification"
    ),
    "verify_domain": Op("POST", "/api/v1/tenants/{tenant}/domains/{domain}/verify"),
    "discovery": Op("GET", "/api/v1/discovery", ("email", "return_to")),
    "list_events": Op("GET", "/api/v1/events", ("after", "limit", "type", "tenant")),
    "list_catalog": Op("GET", "/api/v1/entitlements/catalog", ("kind",)),
    "add_catalog_entry": Op(
        "POST", "/api/v1/entitlements/catalog", body=("kind", "name", "description")
    ),
    "remove_catalog_entry": Op("DELETE", "/api/v1/entitlements/catalog/{kind}/{name}"),
    "get_entitlement_rules": Op("GET", "/api/v1/tenants/{tenant}/entitlement-rules"),
    "put_entitlement_rules": Op(
        "PUT", "/api/v1/tenants/{tenant}/entitlement-rules", body=("defaults", "rules")
    ),
    "dry_run_entitlement_rules": Op(
        "POST", "/api/v1/tenants/{tenant}/entitlement-rules/dry-run", body=("defaults", "rules")
    ),
    "entitlement_rule_versions": Op("GET", "/api/v1/tenants/{tenant}/entitlement-rules/versions"),
    "recompute_entitlements": Op("POST", "/api/v1/tenants/{tenant}/entitlements/recompute"),
    "user_entitlements": Op("GET", "/api/v1/tenants/{tenant}/users/{user_id}/entitlements"),
}


class Tenant(TypedDict, total=False):
    id: str
    slug: str
    name: str
    domains: list[Any]
    seats: int | None


class Page(TypedDict):
    data: list[dict[str, Any]]


class Management:
    """``Management("https://id.example.com", api_key)``; every method is one operation."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Management:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, name: str, /, path: dict[str, str] | None = None, **args: Any) -> Any:
        """Run operation ``name``: ``path`` fills the template, keyword arguments go to the
        query or the body as :data:`OPERATIONS` says (``None`` values are left out)."""
        op = OPERATIONS[name]
        url = op.path.format(**{k: quote(v, safe="") for k, v in (path or {}).items()})
        given = {k: v for k, v in args.items() if v is not None}
        unknown = set(given) - set(op.query) - set(op.body or ())
        if unknown:
            raise TypeError(f"{name} takes no {sorted(unknown)}")
        query = {k: v for k, v in given.items() if k in op.query}
        body = {k: v for k, v in given.items() if op.body and k in op.body}
        r = self.http.request(
            op.method, url, params=query, json=body if op.body is not None else None
        )
        if r.status_code >= 400:
            try:
                problem = r.json()
            except ValueError:
                problem = {"detail": r.text}
            raise ApiError(r.status_code, problem if isinstance(problem, dict) else {})
        return r.json() if r.content else None

    # -- tenants ------------------------------------------------------------------------

    def list_tenants(self) -> Page:
        return self.call("list_tenants")  # type: ignore[no-any-return]

    def create_tenant(
        self, slug: str, name: str, *, domains: list[str] | None = None, seats: int | None = None
    ) -> Tenant:
        return self.call(  # type: ignore[no-any-return]
            "create_tenant", slug=slug, name=name, domains=domains, seats=seats
        )

    def get_tenant(self, tenant: str) -> Tenant:
        return self.call("get_tenant", {"tenant": tenant})  # type: ignore[no-any-return]

    def update_tenant(self, tenant: str, **fields: str | int | bool | None) -> Tenant:
        return self.call("update_tenant", {"tenant": tenant}, **fields)  # type: ignore[no-any-return]

    def delete_tenant(self, tenant: str) -> dict[str, Any]:
        return self.call("delete_tenant", {"tenant": tenant})  # type: ignore[no-any-return]

    # -- directories and people ---------------------------------------------------------

    def create_directory(self, tenant: str, name: str | None = None) -> dict[str, str]:
        return self.call("create_directory", {"tenant": tenant}, name=name)  # type: ignore[no-any-return]

    def list_users(
        self,
        tenant: str,
        *,
        offset: int = 0,
        limit: int = 100,
        active: bool | None = None,
        email: str | None = None,
        group: str | None = None,
    ) -> Page:
        return self.call(  # type: ignore[no-any-return]
            "list_users",
            {"tenant": tenant},
            offset=offset,
            limit=limit,
            active=None if active is None else str(active).lower(),
            email=email,
            group=group,
        )

    def get_user(self, tenant: str, user_id: str) -> dict[str, Any]:
        return self.call("get_user", {"tenant": tenant, "user_id": user_id})  # type: ignore[no-any-return]

    def list_groups(self, tenant: str, *, offset: int = 0, limit: int = 100) -> Page:
        return self.call("list_groups", {"tenant": tenant}, offset=offset, limit=limit)  # type: ignore[no-any-return]

    def get_group(self, tenant: str, group_id: str) -> dict[str, Any]:
        return self.call("get_group", {"tenant": tenant, "group_id": group_id})  # type: ignore[no-any-return]

    # -- apps ---------------------------------------------------------------------------

    def create_app(
        self,
        name: str,
        redirect_uris: list[str],
        *,
        post_logout_redirect_uris: list[str] | None = None,
        public: bool = False,
    ) -> dict[str, Any]:
        return self.call(  # type: ignore[no-any-return]
            "create_app",
            name=name,
            redirect_uris=redirect_uris,
            post_logout_redirect_uris=post_logout_redirect_uris,
            public=public,
        )

    def get_app(self, client_id: str) -> dict[str, Any]:
        return self.call("get_app", {"client_id": client_id})  # type: ignore[no-any-return]

    # -- entitlements -------------------------------------------------------------------

    def add_catalog_entry(
        self, kind: str, name: str, description: str | None = None
    ) -> dict[str, Any]:
        """Declare a ``role``, ``tier`` or ``program`` the platform knows."""
        return self.call(  # type: ignore[no-any-return]
            "add_catalog_entry", kind=kind, name=name, description=description
        )

    def put_entitlement_rules(
        self, tenant: str, rules: list[dict[str, Any]], defaults: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return self.call(  # type: ignore[no-any-return]
            "put_entitlement_rules", {"tenant": tenant}, rules=rules, defaults=defaults
        )

    def user_entitlements(self, tenant: str, user_id: str) -> dict[str, Any]:
        return self.call(  # type: ignore[no-any-return]
            "user_entitlements", {"tenant": tenant, "user_id": user_id}
        )

    # -- events -------------------------------------------------------------------------

    def list_events(
        self,
        *,
        after: int = 0,
        limit: int = 100,
        types: tuple[str, ...] = (),
        tenant: str | None = None,
    ) -> dict[str, Any]:
        """One page: ``{"data": [envelope, ...], "next_after": cursor}``."""
        return self.call(  # type: ignore[no-any-return]
            "list_events", after=after, limit=limit, type=list(types) or None, tenant=tenant
        )

    def events(
        self, *, after: int = 0, types: tuple[str, ...] = (), tenant: str | None = None
    ) -> list[Event]:
        """Every retained event after ``after`` (see :func:`propylon.sdk.events.iter_events`
        to stream them)."""
        return list(iter_events(self.http, after=after, types=types, tenant=tenant))
