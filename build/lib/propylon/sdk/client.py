"""The host platform's entry point: :class:`Propylon` verifies access tokens against the
issuer's keys and the local view the event stream keeps, and asks Propylon (introspection,
RFC 7662) when that view is stale; when Propylon cannot answer either, the token is refused.

    propylon = Propylon("https://id.example.com", audience=CLIENT_ID, api_key=API_KEY,
                        client_id=CLIENT_ID, client_secret=CLIENT_SECRET).start()
    principal = propylon.verify(token)        # or: await propylon.averify(token)
"""

from __future__ import annotations

from typing import Any

import httpx

from propylon.sdk.errors import InvalidToken
from propylon.sdk.jwks import JwksCache
from propylon.sdk.principal import Principal
from propylon.sdk.stream import EventStream
from propylon.sdk.verifier import TokenVerifier, UnknownKey, from_introspection
from propylon.sdk.view import LocalView


class Propylon:
    """One per host process. ``audience``: the ``aud`` your tokens carry (the app's client id;
    several allowed). ``api_key``: a management API key, for the event stream; without it
    (or with ``revocation=False``) revocations and entitlement changes are not seen until the
    token expires. ``client_id``/``client_secret``: a confidential app's credentials, for
    introspection when the view is stale; without them a stale view refuses every token.
    ``staleness``: seconds without a heartbeat after which the view is not trusted alone."""

    def __init__(
        self,
        issuer: str,
        *,
        audience: str | frozenset[str],
        api_key: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        revocation: bool = True,
        staleness: float = 3.0,
        leeway: int = 30,
        max_token_lifetime: int = 3600,
        after: int = 0,
        timeout: float = 2.0,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.api_key = api_key
        self._auth = (client_id, client_secret) if client_id and client_secret else None
        self.view = LocalView(staleness=staleness, retention=max_token_lifetime + 2 * leeway)
        self.jwks = JwksCache(self.issuer + "/oauth2/jwks")
        self.verifier = TokenVerifier(
            issuer=self.issuer,
            audience=audience,
            jwks=self.jwks,
            view=self.view if revocation else None,
            leeway=leeway,
            max_lifetime=max_token_lifetime,
        )
        self._revocation = revocation
        self._after = after
        self._http = httpx.Client(timeout=timeout, transport=transport)
        self._ahttp = httpx.AsyncClient(timeout=timeout, transport=async_transport)
        self._transport = transport
        self.introspection_endpoint = self.issuer + "/oauth2/introspect"
        self.stream: EventStream | None = None

    def start(self, wait: float = 0.0) -> Propylon:
        """Read the issuer's discovery document (OpenID Connect Discovery 1.0 §4) and keys,
        start the event stream; with ``wait``, block up to that many seconds for the first
        heartbeat."""
        meta = self._http.get(self.issuer + "/.well-known/openid-configuration").json()
        if meta.get("issuer") != self.issuer:  # Discovery §4.3
            raise ValueError(f"discovery names issuer {meta.get('issuer')!r}")
        self.jwks.jwks_uri = meta.get("jwks_uri", self.jwks.jwks_uri)
        self.introspection_endpoint = meta.get(
            "introspection_endpoint", self.introspection_endpoint
        )
        self.jwks.fetch(self._http)
        if self._revocation and self.api_key:
            self.stream = EventStream(
                self.issuer, self.api_key, self.view, after=self._after, transport=self._transport
            ).start()
            if wait:
                self.view.wait_fresh(wait)
        return self

    def close(self) -> None:
        if self.stream is not None:
            self.stream.stop()
        self._http.close()

    async def aclose(self) -> None:
        self.close()
        await self._ahttp.aclose()

    def __enter__(self) -> Propylon:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- verification --------------------------------------------------------------------

    def verify(self, token: str) -> Principal:
        """The principal of ``token``, or :class:`InvalidToken` (blocking I/O only when a key
        is unknown or the view is stale)."""
        claims = self._claims(token)
        principal = self.verifier.decide(claims)
        if principal is not None:
            return principal
        return from_introspection(claims, self._introspect(token))

    async def averify(self, token: str) -> Principal:
        """:meth:`verify` for an event loop: its I/O is asynchronous."""
        try:
            claims = self.verifier.claims(token)
        except UnknownKey:
            if not self.jwks.may_fetch():
                raise InvalidToken("unknown_key") from None
            try:
                await self.jwks.afetch(self._ahttp)
            except (httpx.HTTPError, ValueError):
                raise InvalidToken("unknown_key") from None
            claims = self._known(token)
        principal = self.verifier.decide(claims)
        if principal is not None:
            return principal
        return from_introspection(claims, await self._aintrospect(token))

    def _claims(self, token: str) -> dict[str, Any]:
        try:
            return self.verifier.claims(token)
        except UnknownKey:
            if not self.jwks.may_fetch():
                raise InvalidToken("unknown_key") from None
            try:
                self.jwks.fetch(self._http)
            except (httpx.HTTPError, ValueError):
                raise InvalidToken("unknown_key") from None
            return self._known(token)

    def _known(self, token: str) -> dict[str, Any]:
        try:
            return self.verifier.claims(token)
        except UnknownKey:
            raise InvalidToken("unknown_key") from None

    def _introspect(self, token: str) -> dict[str, Any]:
        if self._auth is None:
            raise InvalidToken("unverifiable")
        try:
            r = self._http.post(
                self.introspection_endpoint,
                data={"token": token, "token_type_hint": "access_token"},
                auth=self._auth,
            )
            return _answer(r)
        except (httpx.HTTPError, ValueError):
            raise InvalidToken("unverifiable") from None

    async def _aintrospect(self, token: str) -> dict[str, Any]:
        if self._auth is None:
            raise InvalidToken("unverifiable")
        try:
            r = await self._ahttp.post(
                self.introspection_endpoint,
                data={"token": token, "token_type_hint": "access_token"},
                auth=self._auth,
            )
            return _answer(r)
        except (httpx.HTTPError, ValueError):
            raise InvalidToken("unverifiable") from None


def _answer(r: httpx.Response) -> dict[str, Any]:
    if r.status_code != 200:
        raise ValueError(f"introspection answered {r.status_code}")
    body = r.json()
    if not isinstance(body, dict):
        raise ValueError("introspection answered no object")
    return body
