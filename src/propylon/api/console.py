"""The operator console at ``/admin``: its routers and the redirect to its sign-in page,
installed on the app in one call."""

from __future__ import annotations

from fastapi import FastAPI

from propylon.api import (
    console_auth,
    console_feed_routes,
    console_operator_routes,
    console_portal_routes,
    console_routes,
    console_sso,
)


def install(app: FastAPI) -> None:
    console_auth.install_console_errors(app)
    app.include_router(console_auth.router)
    app.include_router(console_routes.router)
    app.include_router(console_feed_routes.router)
    app.include_router(console_portal_routes.router)
    app.include_router(console_sso.router)
    app.include_router(console_operator_routes.router)
