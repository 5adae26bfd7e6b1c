"""A typed client of Propylon's management API (``/api/v1``, API key), kept in step with the
served OpenAPI document: :data:`OPERATIONS` names every operation's method, path, query
parameters and body fields, and ``tests/sdk/test_live.py`` compares the table
with ``/openapi.json`` both ways. Errors are :class:`ApiError` (RFC 9457 problem document).
"""

from __future__ import annotations

from typing import Any, TypedDict
from urllib.parse import quote

import httpx

from propylon.sdk.errors import ApiError
from propylon.sdk.events import Event, iter_events
from propylon.sdk.operations import OPERATIONS


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
        backchannel_logout_uri: str | None = None,
        backchannel_logout_session_required: bool | None = None,
    ) -> dict[str, Any]:
        return self.call(  # type: ignore[no-any-return]
            "create_app",
            name=name,
            redirect_uris=redirect_uris,
            post_logout_redirect_uris=post_logout_redirect_uris,
            public=public,
            backchannel_logout_uri=backchannel_logout_uri,
            backchannel_logout_session_required=backchannel_logout_session_required,
        )

    def get_app(self, client_id: str) -> dict[str, Any]:
        return self.call("get_app", {"client_id": client_id})  # type: ignore[no-any-return]

    def update_app(self, client_id: str, **fields: Any) -> dict[str, Any]:
        """Change an app; ``backchannel_logout_uri=""`` removes its back-channel logout."""
        return self.call("update_app", {"client_id": client_id}, **fields)  # type: ignore[no-any-return]

    # -- sessions -----------------------------------------------------------------------

    def list_sessions(self, user_id: str) -> Page:
        return self.call("list_sessions", user=user_id)  # type: ignore[no-any-return]

    def revoke_session(self, session_id: str) -> dict[str, Any]:
        return self.call("revoke_session", {"session_id": session_id})  # type: ignore[no-any-return]

    def revoke_user_sessions(self, user_id: str) -> dict[str, Any]:
        return self.call("revoke_user_sessions", {"user_id": user_id})  # type: ignore[no-any-return]

    # -- the customer's IT admin's setup portal -----------------------------------------

    def create_portal_link(
        self,
        tenant: str,
        intents: list[str],
        *,
        expires_in: str | int | None = None,
        return_url: str | None = None,
    ) -> dict[str, Any]:
        """A single-use setup link for ``tenant``'s IT admin (``intents``: ``sso``, ``scim``,
        ``domains``, ``roles`` or ``all``); the answer's ``url`` is shown once."""
        return self.call(  # type: ignore[no-any-return]
            "create_portal_link",
            {"tenant": tenant},
            intents=intents,
            expires_in=expires_in,
            return_url=return_url,
        )

    def revoke_portal_link(self, link_id: str) -> dict[str, Any]:
        """End a setup link and the portal session it opened, at once."""
        return self.call("revoke_portal_link", {"link_id": link_id})  # type: ignore[no-any-return]

    # -- webhooks and deliveries --------------------------------------------------------

    def create_webhook(
        self,
        url: str,
        *,
        tenant_id: str | None = None,
        event_types: list[str] | None = None,
        description: str | None = None,
    ) -> dict[str, Any]:
        """Register an endpoint; the answer carries its ``whsec_`` secret, shown once."""
        return self.call(  # type: ignore[no-any-return]
            "create_webhook",
            url=url,
            tenant_id=tenant_id,
            event_types=event_types,
            description=description,
        )

    def rotate_webhook_secret(
        self, endpoint_id: str, grace_seconds: int | None = None
    ) -> dict[str, Any]:
        return self.call(  # type: ignore[no-any-return]
            "rotate_webhook_secret", {"endpoint_id": endpoint_id}, grace_seconds=grace_seconds
        )

    def dead_letters(self, *, limit: int = 100) -> Page:
        return self.call("list_deliveries", state="dead", limit=limit)  # type: ignore[no-any-return]

    def replay_deliveries(self, ids: list[str]) -> dict[str, Any]:
        return self.call("replay_deliveries", ids=ids)  # type: ignore[no-any-return]

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
