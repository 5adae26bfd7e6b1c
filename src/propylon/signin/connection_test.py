"""Test connection: a real sign-in at a tenant's configured IdP, in a new tab, that starts no
session, while the connection may still be a draft (disabled, not live for anyone).

:func:`start_test` writes the test's row (``pending``, ``setup/tests_store.py``) and sends
the browser to the IdP like a sign-in (SAML AuthnRequest or OpenID Connect authentication
request), its pending login sealed into a cookie of this browser with the test's id
(:mod:`propylon.sessions.pending_cookie`). The ACS or callback sees the test id in that
cookie and hands the IdP's answer to :mod:`propylon.signin.connection_test_saml` or
:mod:`propylon.signin.connection_test_oidc`, which check it stage by stage exactly as a
sign-in would, record the result and send the browser to the test's ``result_path``.
Only a login sealed with a test id becomes a test, and a test never signs anyone in
(:func:`propylon.signin.saml_sso.open_pending` refuses a test's cookie at a normal sign-in).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from propylon.audit import Actor, AuditRecord, record
from propylon.errors import InvalidInput, NotFound
from propylon.ids import Kind, new_id
from propylon.runtime import Runtime
from propylon.sessions.pending_cookie import PendingLogin, cookie_name
from propylon.setup.remedies import VENDORS
from propylon.setup.stages import pending_stages
from propylon.setup.tests_store import new_row
from propylon.signin import oidc_sso, saml_sso
from propylon.signin.saml_sso import StartedLogin
from propylon.tenants.oidc_connections import OidcConnectionRecord, load_oidc_connection
from propylon.tenants.saml_connections import ConnectionRecord, load_connection

__all__ = [
    "MAX_RESULT_PATH",
    "load_any_oidc",
    "load_any_saml",
    "pending_test",
    "start_test",
]

MAX_RESULT_PATH = 512
_RESULT_PREFIXES = ("/portal/", "/admin/")


async def load_any_saml(s: AsyncSession, connection_id: str) -> ConnectionRecord:
    """A SAML connection, disabled (a draft) or live: for tests only. :class:`NotFound`."""
    return await load_connection(s, connection_id, live_only=False)


async def load_any_oidc(s: AsyncSession, connection_id: str) -> OidcConnectionRecord:
    """An OIDC connection, disabled (a draft) or live: for tests only. :class:`NotFound`."""
    return await load_oidc_connection(s, connection_id, live_only=False)


def _check_result_path(result_path: str) -> str:
    """A local page of the portal or the console (no open redirect)."""
    ok = (
        result_path.startswith(_RESULT_PREFIXES)
        and len(result_path) <= MAX_RESULT_PATH
        and "\\" not in result_path
        and "//" not in result_path
        and all(" " < ch < "\x7f" for ch in result_path)
    )
    if not ok:
        raise InvalidInput("result_path must be a local path under /portal/ or /admin/")
    return result_path


async def start_test(
    rt: Runtime,
    connection_id: str,
    tenant_id: str,
    actor: Actor,
    result_path: str,
    *,
    vendor: str = "generic",
    login_hint: str | None = None,
) -> tuple[StartedLogin, str]:
    """Start a test of the connection ``connection_id`` of tenant ``tenant_id`` (SAML or
        OIDC by its kind, live or draft): the redirect to the IdP with the pending cookie, and
        the new test id. Another tenant's connection is :class:`NotFound`. ``result_path``
        (``/portal/…`` or ``/admin/…``; ``{test_id}`` is replaced) is where the browser goes
        once the result is recorded; ``vendor`` words the remedies for that IdP; ``login_hint``
        (OpenID Connect) who is expected to sign in. Audited (``sso.connection.test``) with
        ``actor`` (the portal link, an operator), recorded as the test's ``started_by``."""
    path = _check_result_path(result_path)
    test_id = new_id(Kind.CONNECTION_TEST)
    path = path.replace("{test_id}", test_id)
    vendor = vendor if vendor in VENDORS else "generic"
    protocol = "oidc" if connection_id.startswith(Kind.OIDC_CONNECTION.value + "_") else "saml"
    async with rt.db.read() as s:
        saml_conn = oidc_conn = None
        if protocol == "saml":
            saml_conn = await load_any_saml(s, connection_id)
            owner = saml_conn.tenant_id
        else:
            oidc_conn = await load_any_oidc(s, connection_id)
            owner = oidc_conn.tenant_id
    if owner != tenant_id:
        raise NotFound(f"no connection {connection_id!r}")
    if saml_conn is not None:
        started = saml_sso.begin_login(rt, saml_conn, "", test_id=test_id)
    else:
        assert oidc_conn is not None
        hint = login_hint[:320] if login_hint else None
        started = await oidc_sso.begin_login(rt, oidc_conn, "", login_hint=hint, test_id=test_id)
    now = rt.clock()
    rec = AuditRecord("sso.connection.test", f"{protocol}_connection", connection_id, tenant_id)
    rec.diff = {
        "test": {"before": None, "after": test_id},
        "vendor": {"before": None, "after": vendor},
    }
    async with rt.db.write() as s:
        s.add(
            new_row(
                test_id=test_id,
                tenant_id=tenant_id,
                connection_id=connection_id,
                protocol=protocol,
                vendor=vendor,
                result_path=path,
                started_by=f"{actor.type}:{actor.id}" if actor.id else actor.type,
                now=now,
                expires_at=now + timedelta(seconds=started.max_age),
                stages=pending_stages(protocol),
            )
        )
        record(s, actor, rec, now)
    return started, test_id


def pending_test(rt: Runtime, state: str | None, sealed: str | None) -> PendingLogin | None:
    """The pending login of this browser's cookie if it is a test's (it names a test id),
    else None: the ACS or callback then handles a sign-in as always."""
    if sealed is None or state is None or cookie_name(state) is None:
        return None
    pending = rt.pending_logins.open(state, sealed)
    return pending if pending is not None and pending.test_id else None
