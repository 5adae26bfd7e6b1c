"""When the test IdP may run: never by accident in production.

With PostgreSQL configured (production mode) the test IdP, enabled but not forced
(``PROPYLON_TEST_IDP_FORCE``), stops the server from starting: whoever reaches it can sign
in as anyone into every tenant whose connection trusts it.
"""

from __future__ import annotations

from propylon.settings import Settings

__all__ = ["RefusedTestIdp", "production_refusal"]


class RefusedTestIdp(RuntimeError):
    """The settings enable the test IdP where it must not run."""


def production_refusal(settings: Settings) -> str | None:
    """Why the server must not start with these settings (None: it may)."""
    if settings.test_idp_enabled and not settings.is_sqlite and not settings.test_idp_force:
        return (
            "PROPYLON_TEST_IDP_ENABLED is set with PostgreSQL configured (production mode): "
            "the test IdP lets anyone sign in as anyone. Unset it, or set "
            "PROPYLON_TEST_IDP_FORCE=true if this really is a test installation."
        )
    return None
