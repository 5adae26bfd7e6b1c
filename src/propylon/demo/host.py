"""The demo host platform: an ordinary OpenID Connect client of Propylon, over HTTP only.

It signs a person in with the authorization code flow and PKCE (RFC 6749 §4.1, RFC 7636 S256,
``state`` and ``nonce``), redeems the code at the token endpoint with its client secret
(``client_secret_basic``), checks the ID token (OpenID Connect Core §3.1.3.7: signature from
the issuer's JWK Set, ``iss``, ``aud``, ``exp``, ``nonce``), and reads the person's roles,
tier and programs through the SDK (:class:`propylon.sdk.Propylon`: the access token checked
against the local view the event stream keeps, so a group change shows without a new
sign-in). As the IdP's stand-in it moves the signed-in person between the demo directory's
groups with SCIM PATCH (RFC 7644 §3.5.2) and the directory's token.

Its sessions live in this process's memory (a demo host, one process), keyed by a random
cookie; nothing of Propylon's own is imported but the SDK."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
import urllib.parse
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import httpx

from propylon.demo.state import DemoState
from propylon.sdk import InvalidToken, Principal, Propylon
from propylon.sdk.jose import claims_of, split

COOKIE = "propylon_demo"
SESSIONS_KEPT = 1000
SESSION_SECONDS = 3600.0
PENDING_SECONDS = 600.0
SCIM_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


class DemoError(Exception):
    """A step of the demo that did not work, said for a person."""


@dataclass
class HostSession:
    created: float
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    pending: dict[str, str] | None = None
    pending_at: float = 0.0
    id_token: str | None = None
    id_claims: dict[str, Any] | None = None
    access_token: str | None = None


@dataclass(frozen=True)
class View:
    """What the signed-in page shows: the ID token's claims, the entitlements the SDK
    decided (or why the token no longer counts), and the person's groups in the IdP."""

    claims: dict[str, Any]
    principal: Principal | None
    refused: str | None
    groups: list[tuple[str, str, bool]]
    """(SCIM id, name, whether the person is a member)."""


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class DemoHost:
    """One per process. ``public_url``: Propylon's issuer (the demo host reaches it there);
    ``state``: the seed's (:mod:`propylon.demo.state`)."""

    def __init__(
        self,
        public_url: str,
        state: DemoState,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.issuer = public_url.rstrip("/")
        self.state = state
        self.redirect_uri = self.issuer + "/demo/callback"
        self.scim_base = f"{self.issuer}/scim/v2/{state.directory_id}"
        self.sdk = Propylon(
            self.issuer,
            audience=state.client_id,
            api_key=state.api_key,
            client_id=state.client_id,
            client_secret=state.client_secret,
        )
        self._http = httpx.AsyncClient(timeout=10.0, transport=transport)
        self._sessions: OrderedDict[str, HostSession] = OrderedDict()
        self._started = False
        self._starting = asyncio.Lock()

    async def ready(self) -> None:
        """Read the issuer's discovery and keys and start the event stream, once (in a
        thread: the SDK's start blocks, and the issuer may be this very process)."""
        if self._started:
            return
        async with self._starting:
            if not self._started:
                await asyncio.to_thread(self.sdk.start, 2.0)
                self._started = True

    async def close(self) -> None:
        await self._http.aclose()
        await asyncio.to_thread(self.sdk.close)

    # -- sessions of the demo host ---------------------------------------------------------

    def session(self, sid: str | None) -> tuple[str, HostSession]:
        """The browser's session, or a new one (the caller sets the cookie)."""
        now = time.monotonic()
        found = self._sessions.get(sid) if sid else None
        if sid and found is not None and now - found.created < SESSION_SECONDS:
            self._sessions.move_to_end(sid)
            return sid, found
        if sid:
            self._sessions.pop(sid, None)
        while len(self._sessions) >= SESSIONS_KEPT:
            self._sessions.popitem(last=False)
        sid = secrets.token_urlsafe(32)
        self._sessions[sid] = HostSession(created=now)
        return sid, self._sessions[sid]

    def find(self, sid: str | None) -> HostSession | None:
        """The browser's live session, never a new one (a request that only reads)."""
        found = self._sessions.get(sid) if sid else None
        if found is None or time.monotonic() - found.created >= SESSION_SECONDS:
            return None
        return found

    def sign_out(self, sid: str | None) -> None:
        if sid:
            self._sessions.pop(sid, None)

    # -- sign-in (authorization code + PKCE) -----------------------------------------------

    def login_url(self, s: HostSession) -> str:
        verifier, challenge = _pkce()
        s.pending = {
            "state": secrets.token_urlsafe(24),
            "nonce": secrets.token_urlsafe(24),
            "verifier": verifier,
        }
        s.pending_at = time.monotonic()
        query = {
            "response_type": "code",
            "client_id": self.state.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": "openid email profile",
            "state": s.pending["state"],
            "nonce": s.pending["nonce"],
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "organization": "demo",
        }
        return f"{self.issuer}/oauth2/authorize?{urllib.parse.urlencode(query)}"

    async def finish(self, s: HostSession, params: dict[str, str]) -> None:
        """The redirect back from Propylon: this browser's state, the code redeemed, the ID
        token checked; or :class:`DemoError`."""
        pending, s.pending = s.pending, None
        if pending is None or time.monotonic() - s.pending_at > PENDING_SECONDS:
            raise DemoError("This sign-in was not started in this browser, or too long ago.")
        if not secrets.compare_digest(params.get("state", ""), pending["state"]):
            raise DemoError("The answer does not belong to this sign-in (state).")
        if "error" in params:
            raise DemoError(f"Propylon answered: {params['error']}")
        if params.get("iss") not in (None, self.issuer):  # RFC 9207
            raise DemoError("The answer names another issuer.")
        code = params.get("code")
        if not code:
            raise DemoError("The answer carries no authorization code.")
        await self.ready()
        r = await self._http.post(
            f"{self.issuer}/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.redirect_uri,
                "code_verifier": pending["verifier"],
            },
            auth=(self.state.client_id, self.state.client_secret),
        )
        if r.status_code != 200:
            raise DemoError(f"The token endpoint refused the code ({r.status_code}).")
        tokens = r.json()
        s.id_claims = self.id_token_claims(tokens.get("id_token", ""), pending["nonce"])
        s.id_token, s.access_token = tokens["id_token"], tokens.get("access_token")

    def id_token_claims(self, token: str, nonce: str) -> dict[str, Any]:
        """OpenID Connect Core §3.1.3.7, with the keys the SDK read from the JWK Set."""
        try:
            header, payload, signature, signing_input = split(token)
        except InvalidToken as exc:
            raise DemoError("The ID token is not a JWS.") from exc
        key = self.sdk.jwks.keys.get(str(header.get("kid")))
        if key is None or key.alg != header.get("alg"):
            raise DemoError("The ID token is signed with a key the issuer does not publish.")
        if not key.verify(signature, signing_input):
            raise DemoError("The ID token's signature does not verify.")
        claims = claims_of(payload)
        aud = claims.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        exp = claims.get("exp")
        if claims.get("iss") != self.issuer or self.state.client_id not in audiences:
            raise DemoError("The ID token is for another issuer or app.")
        if not isinstance(exp, int) or exp < time.time() - 30:
            raise DemoError("The ID token has expired.")
        if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise DemoError("The ID token's nonce is not this sign-in's.")
        return claims

    # -- what the page shows ---------------------------------------------------------------

    async def principal(self, s: HostSession) -> tuple[Principal | None, str | None]:
        """The SDK's principal of the access token, or why it is refused."""
        if s.access_token is None:
            return None, "no access token"
        await self.ready()
        try:
            return await self.sdk.averify(s.access_token), None
        except InvalidToken as exc:
            return None, exc.reason

    async def view(self, s: HostSession) -> View:
        principal, refused = await self.principal(s)
        claims = s.id_claims or {}
        return View(claims, principal, refused, await self.groups(str(claims.get("sub", ""))))

    # -- the IdP's part: group membership over SCIM ----------------------------------------

    def _scim_headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.state.scim_token}",
            "Content-Type": "application/scim+json",
        }

    async def groups(self, user_id: str) -> list[tuple[str, str, bool]]:
        """The demo directory's groups and whether ``user_id`` is in each (SCIM GET)."""
        member_of: set[str] = set()
        if user_id:
            r = await self._http.get(
                f"{self.scim_base}/Users/{urllib.parse.quote(user_id, safe='')}",
                headers=self._scim_headers(),
            )
            if r.status_code == 200:
                member_of = {g.get("value") for g in r.json().get("groups", [])}
        return [(gid, name, gid in member_of) for name, gid in self.state.groups.items()]

    async def move(self, s: HostSession, group_id: str, join: bool) -> str:
        """Add the signed-in person to a demo group or take them out of it (SCIM PATCH of the
        group with the directory's token, as the IdP would); returns the group's name."""
        names = {gid: name for name, gid in self.state.groups.items()}
        user_id = str((s.id_claims or {}).get("sub", ""))
        if group_id not in names or not user_id:
            raise DemoError("No such group of the demo directory.")
        if join:
            op: dict[str, Any] = {"op": "add", "path": "members", "value": [{"value": user_id}]}
        else:
            op = {"op": "remove", "path": f'members[value eq "{user_id}"]'}
        r = await self._http.patch(
            f"{self.scim_base}/Groups/{group_id}",
            json={"schemas": [PATCH_OP], "Operations": [op]},
            headers=self._scim_headers(),
            params={"excludedAttributes": "members"},
        )
        if r.status_code not in (200, 204):
            raise DemoError(f"The directory refused the change ({r.status_code}).")
        return names[group_id]
