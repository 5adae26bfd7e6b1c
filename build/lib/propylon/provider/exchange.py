"""Bridging Authlib's synchronous server to the async database.

Pattern: *pre-load, run sync, write after.* For each request the route opens one
transaction and builds an :class:`Exchange` holding everything Authlib's storage hooks may
read: the client(s) named by the request, the authorization code or refresh token (looked up
by SHA-256), the sign-in session with its user and tenant (from the runtime's session store:
codes and refresh tokens name their session by id, and it must still be active when they are
redeemed or introspected), and the signing key. Authlib then runs synchronously; its hooks
read only from the exchange and record their writes on it (an insert, a code or refresh
token marked used, a grant revoked), with no I/O. The route then calls
:meth:`Exchange.write_through`, which executes them in recorded order in the same
transaction, and commits: an error response and its side effects (e.g. a family revoked on
refresh-token reuse) land together, and no hook ever blocks the event loop.

Reads and writes are prebuilt Core statements (``oauth_store/grants.py``; no ORM identity
map or unit of work on the sign-in path). The Authlib model adapters (RFC 6749 client, code
and token models) are in ``provider/models.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from joserfc.jwk import KeySet

from propylon.cache.copies import LocalCopies
from propylon.oauth_store import grants
from propylon.oauth_store.grants import Transaction, Write
from propylon.oauth_store.signing_keys import SigningMaterial
from propylon.provider import rfc9068
from propylon.provider.claims import identity_claims
from propylon.provider.models import Client, CodeRecord, RefreshRecord, Subject
from propylon.sessions.service import ActiveSession
from propylon.sessions.store import SessionStore
from propylon.settings import Settings
from propylon.tenants.credentials import hash_secret


def family_for_code(code_hash: str) -> str:
    """The refresh-token family (the grant) of a code: hashing again keeps the code hash
    itself out of tokens while letting a replayed code find its family (RFC 6749 §4.1.2)."""
    return hash_secret("family:" + code_hash)


@dataclass
class Exchange:
    """What one Authlib call may read (pre-loaded), and the writes it records for the route
    to execute (:meth:`write_through`) in the same transaction."""

    session: Transaction
    settings: Settings
    sessions: SessionStore
    now: datetime
    key: SigningMaterial | None = None
    """The signing key; loaded only by the endpoints that sign (the token endpoint)."""
    verifier: KeySet | None = None
    """The published keys (:func:`~propylon.oauth_store.signing_keys.verifier`); loaded only by the
    endpoints that verify presented tokens."""
    clients: dict[str, Client] = field(default_factory=dict)
    client_copies: LocalCopies[str, Client] | None = None
    """This process's copies of apps (``Runtime.sign_in``), if kept."""
    login: ActiveSession | None = None
    code: CodeRecord | None = None
    code_login: ActiveSession | None = None
    refresh: RefreshRecord | None = None
    family_id: str | None = None
    subject: Subject | None = None
    writes: list[Write] = field(default_factory=list)

    @property
    def signer(self) -> SigningMaterial:
        if self.key is None:
            raise RuntimeError("this endpoint did not load the signing key")
        return self.key

    @property
    def issuer(self) -> str:
        return self.settings.public_url.rstrip("/")

    # --- writes, recorded by the synchronous hooks ----------------------------------------

    def insert_code(self, values: dict[str, Any]) -> None:
        self.writes.append(grants.insert_code(values))

    def insert_refresh(self, values: dict[str, Any]) -> None:
        self.writes.append(grants.insert_refresh(values))

    def use_code(self, code_hash: str) -> None:
        self.writes.append(grants.use_code(code_hash, self.now))

    def use_refresh(self, token_hash: str) -> None:
        self.writes.append(grants.use_refresh(token_hash, self.now))

    def revoke_family(self) -> None:
        """Revoke every refresh token of the grant (and so its access tokens)."""
        if self.family_id is not None:
            self.writes.append(grants.revoke_family(self.family_id, self.now))

    async def write_through(self) -> None:
        """Execute the recorded writes, in order, in the exchange's transaction."""
        if not self.writes:
            return
        writes, self.writes = self.writes, []
        await grants.execute(self.session, writes)

    # --- pre-loading ----------------------------------------------------------------------

    async def load_clients(self, *client_ids: str | None) -> None:
        copies = self.client_copies
        for cid in client_ids:
            if not cid or len(cid) > 64 or cid in self.clients:
                continue
            client = copies.get(cid) if copies is not None else None
            if client is None:
                row = await grants.read_client(self.session, cid)
                if row is None:
                    continue
                uris, logout_uris = row[2].get("uris", []), row[3].get("uris", [])
                client = Client(row[0], row[1], uris, logout_uris)
                if copies is not None:
                    copies.put(cid, client)
            self.clients[cid] = client

    async def read_refresh(self, token: str, *, lock: bool) -> RefreshRecord | None:
        """The refresh token by hash (``lock``: ``FOR UPDATE``, where it will be used)."""
        row = await grants.read_refresh(self.session, hash_secret(token), lock=lock)
        return RefreshRecord(*row) if row is not None else None

    async def family_revoked(self, family_id: str) -> bool:
        return await grants.family_revoked(self.session, family_id)

    async def load_code(self, code: str | None) -> None:
        """Pre-load an authorization code; a replayed code revokes its grant (RFC 6749
        §4.1.2) and is not handed to Authlib, which then answers ``invalid_grant``. An unused
        code's grant has no tokens yet (they are issued in the transaction that uses it)."""
        if not code or len(code) > 512:
            return
        code_hash = hash_secret(code)
        row = await grants.read_code(self.session, code_hash)
        if row is None:
            return
        self.family_id = family_for_code(code_hash)
        record = CodeRecord(*row)
        if record.used_at is not None:
            self.revoke_family()
            return
        self.code = record
        self.code_login = await self.sessions.load(self.session, record.session_id, self.now)

    async def load_refresh(self, token: str | None) -> None:
        """Pre-load a refresh token; presenting a rotated-out one revokes the whole family
        (RFC 9700 §4.14.2) and Authlib answers ``invalid_grant``."""
        if not token or len(token) > 512:
            return
        row = await self.read_refresh(token, lock=True)
        if row is None:
            return
        self.family_id = row.family_id
        if row.used_at is not None or row.revoked_at is not None:
            self.revoke_family()
            return
        self.refresh = row
        self.code_login = await self.sessions.load(self.session, row.session_id, self.now)


async def load_subject(ex: Exchange, token: str | None) -> None:
    """Pre-load and verify a presented token (refresh token by hash, else JWT access token)
    with its grant and session, for introspection, revocation and userinfo."""
    if not token or len(token) > 8192:
        return
    row = await ex.read_refresh(token, lock=False)
    if row is not None:
        ex.family_id = row.family_id
        login = await ex.sessions.load(ex.session, row.session_id, ex.now)
        live = row.used_at is None and row.revoked_at is None and row.expires_at > ex.now
        ex.subject = Subject(
            kind="refresh_token",
            client_id=row.client_id,
            family_id=row.family_id,
            claims={**(identity_claims(login) if login else {}), "scope": row.scope},
            expires_at=int(row.expires_at.timestamp()),
            active=live and login is not None,
            login=login,
        )
        return
    if ex.verifier is None:
        return
    claims = rfc9068.verify(token, ex.verifier, ex.issuer, int(ex.now.timestamp()))
    if claims is None:
        return
    ex.family_id = str(claims["grant_id"])
    revoked = await ex.family_revoked(ex.family_id)
    login = await ex.sessions.load(ex.session, str(claims["sid"]), ex.now)
    ex.subject = Subject(
        kind="access_token",
        client_id=str(claims.get("client_id")),
        family_id=ex.family_id,
        claims=claims,
        expires_at=int(claims["exp"]),
        active=not revoked and login is not None and login.user.id == claims.get("sub"),
        login=login,
    )
