"""The ASGI application factory."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from propylon import __version__
from propylon.admin import console_sso
from propylon.admin.domains import recheck_loop
from propylon.admin.saml_connections import metadata_refresh_loop
from propylon.admin.secrets import seal_stored_secrets
from propylon.api import (
    apps_routes,
    assets,
    authorize,
    console,
    demo_routes,
    domain_routes,
    email_first,
    entitlement_routes,
    errors,
    events_routes,
    health,
    home,
    mgmt_routes,
    observability,
    oidc_mgmt_routes,
    oidc_routes,
    pages,
    password_reset_routes,
    password_routes,
    portal_auth,
    portal_domain_routes,
    portal_mgmt_routes,
    portal_roles_routes,
    portal_routes,
    portal_scim_routes,
    portal_sso_connection_routes,
    portal_sso_routes,
    portal_sso_testidp,
    provider_routes,
    saml_mgmt_routes,
    saml_routes,
    scim_routes,
    security_headers,
    session_routes,
    ssf_routes,
    testidp_oidc_routes,
    testidp_routes,
    webhook_routes,
)
from propylon.audit import auth_failures
from propylon.background import watch
from propylon.db.migrate import is_current, upgrade
from propylon.delivery.worker import DeliveryWorker
from propylon.demo.host import DemoHost
from propylon.demo.state import load_state
from propylon.directory import scope_cache
from propylon.feed.model import FEED_CHANNEL
from propylon.logs import configure as configure_logging
from propylon.oauth_store import signing_keys
from propylon.runtime import SIGN_IN_CHANNEL, Runtime, build_runtime
from propylon.settings import Settings
from propylon.testidp.guard import RefusedTestIdp, production_refusal
from propylon.testidp.identity import test_keys


class SchemaNotMigrated(RuntimeError):
    pass


async def _warm_test_idp(rt: Runtime) -> None:
    await test_keys(rt)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """Build the app. With ``runtime`` given the caller owns it; otherwise the app builds one
    from ``settings`` at startup, migrates (or refuses) and closes it at shutdown."""
    settings = settings or (runtime.settings if runtime else Settings())
    pages.use_brand(pages.Brand.of(settings))
    if runtime is None:
        # `serve --workers N` starts each worker in a fresh interpreter that imports this
        # factory, never the CLI: configure logging here, or workers log with defaults.
        configure_logging(settings.log_level, settings.log_json)

    if refusal := production_refusal(settings):
        raise RefusedTestIdp(refusal)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = runtime or build_runtime(settings)
        if settings.auto_migrate:
            await upgrade(rt.db)
        elif not await is_current(rt.db):
            raise SchemaNotMigrated("database schema is not current: run `propylon migrate`")
        await seal_stored_secrets(rt)  # private keys an older version stored in clear
        await console_sso.register_client(rt)  # the console's own app, when it signs in by SSO
        app.state.runtime = rt
        if rt.audit_buffer is not None:
            rt.audit_buffer.start()
        if rt.scope_cache.enabled:
            rt.cache.subscribe(scope_cache.CHANNEL, rt.scope_cache.on_message)
        rt.cache.subscribe(signing_keys.CHANNEL, rt.signing_keys.on_message)
        if rt.cache.fanout:
            rt.cache.subscribe(auth_failures.CHANNEL, rt.auth_failures.on_message)
        if rt.sign_in.clients.enabled:
            rt.cache.subscribe(SIGN_IN_CHANNEL, rt.sign_in.on_message)
        # Everything built so far lives as long as the process: keep it out of the cyclic
        # GC's generations so full collections stay short on the request path.
        gc.collect()
        gc.freeze()
        tasks: list[asyncio.Task[None]] = []
        if settings.saml_metadata_refresh_enabled and settings.saml_metadata_refresh_seconds > 0:
            refresh = metadata_refresh_loop(rt, settings.saml_metadata_refresh_seconds)
            tasks.append(watch(asyncio.create_task(refresh, name="saml-metadata-refresh")))
        if settings.domain_recheck_seconds > 0:
            recheck = recheck_loop(rt, settings.domain_recheck_seconds)
            tasks.append(watch(asyncio.create_task(recheck, name="domain-recheck")))
        tasks.extend(rt.feed.start(rt.cache.subscribe, rt.cache.remember_once))
        if settings.test_idp_enabled:  # its keys take a second or two of CPU: derive them now
            tasks.append(asyncio.create_task(_warm_test_idp(rt), name="test-idp-keys"))
        demo_state = load_state(settings.data_dir) if settings.demo_enabled else None
        app.state.demo_host = DemoHost(settings.public_url, demo_state) if demo_state else None
        if settings.delivery_worker_enabled:
            worker = DeliveryWorker(
                rt.db, rt.outbound, rt.delivery_renderers, settings, lambda: rt.clock()
            )
            rt.cache.subscribe(FEED_CHANNEL, worker.on_message)  # a batch numbered: new items
            tasks.append(watch(asyncio.create_task(worker.run(), name="delivery-worker")))
        try:
            yield
        finally:
            if isinstance(app.state.demo_host, DemoHost):  # made here or at a first request
                await app.state.demo_host.close()
            rt.feed.stop()
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if runtime is None:
                await rt.close()

    app = FastAPI(
        title="Propylon",
        version=__version__,
        description="Enterprise identity layer: SCIM 2.0 provisioning, SSO and management API.",
        lifespan=lifespan,
        # /docs is rendered on the server (api/home.py): no script or asset from a CDN
        docs_url=None,
        redoc_url=None,
        # first in the route table: see scim_routes' docstring
        routes=[scim_routes.ScimRoutes(scim_routes.routes)],
    )
    observability.install(app, observability.Metrics())
    app.add_middleware(
        security_headers.SecurityHeaders,
        policy=security_headers.page_policy(settings.public_url),
    )
    errors.install(app)
    portal_auth.install_portal_errors(app)
    # Route matching scans in order: the browser- and IdP-facing routes before the
    # management API (SCIM routes come first of all, see above).
    app.include_router(health.router)
    app.include_router(home.router)
    app.include_router(assets.router)
    app.include_router(authorize.router)
    app.include_router(email_first.router)
    app.include_router(provider_routes.router)
    app.include_router(saml_routes.router)
    app.include_router(testidp_routes.router)
    app.include_router(testidp_oidc_routes.router)
    app.include_router(password_routes.router)
    app.include_router(password_reset_routes.router)
    app.include_router(portal_routes.router)
    app.include_router(portal_domain_routes.router)
    app.include_router(portal_scim_routes.router)
    app.include_router(portal_roles_routes.router)
    app.include_router(oidc_routes.router)
    app.include_router(portal_sso_routes.router)
    app.include_router(portal_sso_connection_routes.router)
    app.include_router(portal_sso_testidp.router)
    if settings.demo_enabled:
        app.include_router(demo_routes.router)
    app.include_router(mgmt_routes.router)
    app.include_router(events_routes.router)
    app.include_router(apps_routes.router)
    app.include_router(ssf_routes.router)
    app.include_router(saml_mgmt_routes.router)
    app.include_router(oidc_mgmt_routes.router)
    app.include_router(domain_routes.router)
    app.include_router(webhook_routes.router)
    app.include_router(entitlement_routes.router)
    app.include_router(session_routes.router)
    console.install(app)
    app.include_router(portal_mgmt_routes.router)
    return app
