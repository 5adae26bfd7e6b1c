"""The contract of the setup portal shared by its pages (``api/portal_*.py``), the console
and the management API: the intents a link may carry and what a page knows of the browser's
portal session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from propylon.audit import Actor

INTENTS: Final = ("sso", "scim", "domains", "roles")
"""What a link may open; ``all`` on the command line means every one."""


@dataclass(frozen=True)
class PortalGrant:
    """The portal session of this browser, opened by one link (``link_id``): the tenant it
    is scoped to, the intents it allows, when it ends, where "done" leads."""

    link_id: str
    session_id: str
    tenant_id: str
    tenant_slug: str
    tenant_name: str
    intents: frozenset[str]
    expires_at: datetime
    return_url: str | None
    csrf_token: str
    """The anti-forgery field every POST form of the portal carries (``api/csrf.py``)."""

    def allows(self, intent: str) -> bool:
        return intent in self.intents

    @property
    def actor(self) -> Actor:
        """Who acts in the audit trail for a change made in this portal session: the link
        that opened it, for its tenant."""
        return portal_actor(self.link_id, self.tenant_id)


def portal_actor(link_id: str, tenant_id: str) -> Actor:
    """The one actor of the setup portal: ``portal`` with the link's id."""
    return Actor("portal", link_id, tenant_id)
