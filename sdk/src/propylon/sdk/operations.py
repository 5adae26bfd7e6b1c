"""The management API's operations, as the served OpenAPI document names them: method, path,
query parameters and JSON body fields (``tests/sdk/test_live.py`` compares this table with
``/openapi.json`` both ways)."""

from __future__ import annotations

from dataclasses import dataclass


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
        body=(
            "name",
            "redirect_uris",
            "post_logout_redirect_uris",
            "public",
            "backchannel_logout_uri",
            "backchannel_logout_session_required",
        ),
    ),
    "get_app": Op("GET", "/api/v1/apps/{client_id}"),
    "update_app": Op(
        "PATCH",
        "/api/v1/apps/{client_id}",
        body=(
            "name",
            "redirect_uris",
            "post_logout_redirect_uris",
            "backchannel_logout_uri",
            "backchannel_logout_session_required",
        ),
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
    "list_webhooks": Op("GET", "/api/v1/webhooks"),
    "create_webhook": Op(
        "POST", "/api/v1/webhooks", body=("url", "tenant_id", "event_types", "description")
    ),
    "get_webhook": Op("GET", "/api/v1/webhooks/{endpoint_id}"),
    "update_webhook": Op(
        "PATCH", "/api/v1/webhooks/{endpoint_id}", body=("url", "event_types", "description")
    ),
    "delete_webhook": Op("DELETE", "/api/v1/webhooks/{endpoint_id}"),
    "rotate_webhook_secret": Op(
        "POST", "/api/v1/webhooks/{endpoint_id}/rotate-secret", body=("grace_seconds",)
    ),
    "list_deliveries": Op(
        "GET",
        "/api/v1/deliveries",
        ("state", "kind", "destination", "tenant", "after", "limit"),
    ),
    "get_delivery": Op("GET", "/api/v1/deliveries/{delivery_id}"),
    "replay_deliveries": Op("POST", "/api/v1/deliveries/replay", body=("ids", "destination")),
    "list_sessions": Op("GET", "/api/v1/sessions", ("user",)),
    "get_session": Op("GET", "/api/v1/sessions/{session_id}"),
    "revoke_session": Op("DELETE", "/api/v1/sessions/{session_id}"),
    "revoke_user_sessions": Op("POST", "/api/v1/users/{user_id}/revoke-sessions"),
    "create_portal_link": Op(
        "POST",
        "/api/v1/tenants/{tenant}/portal-links",
        body=("intents", "expires_in", "return_url"),
    ),
    "list_portal_links": Op("GET", "/api/v1/tenants/{tenant}/portal-links"),
    "revoke_portal_link": Op("DELETE", "/api/v1/portal-links/{link_id}"),
}
