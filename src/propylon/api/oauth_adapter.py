"""The FastAPI adapter for Authlib's authorization server (Authlib leaves
``create_oauth2_request`` and ``handle_response`` to the framework integration): request and
payload types, the response hook, bounded form reading and the exchange each endpoint opens."""

from __future__ import annotations

import base64
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from authlib.oauth2.rfc6749 import OAuth2Payload, OAuth2Request
from authlib.oauth2.rfc6749.errors import InsecureTransportError, InvalidClientError
from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.api.http import FormTooLarge, query_pairs, read_form_pairs
from propylon.api.pages import page
from propylon.oauth_store import signing_keys as keys
from propylon.provider.exchange import Exchange
from propylon.provider.models import Client
from propylon.provider.server import ProviderServer
from propylon.revocation.grants import revoke_grant
from propylon.revocation.service import Outboxes
from propylon.runtime import Runtime
from propylon.tenants.credentials import hash_secret
from propylon.text import UnstorableText, check_text

MAX_FORM_BYTES = 65_536
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


# --- the Authlib adapter -------------------------------------------------------------------


class _Payload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs
        self._data: dict[str, str] = {}
        for k, v in pairs:
            self._data.setdefault(k, v)

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        out: defaultdict[str, list[str]] = defaultdict(list)
        for k, v in self._pairs:
            out[k].append(v)
        return out


class HttpRequest(OAuth2Request):  # type: ignore[misc]
    """Authlib's request over already-read query and form pairs."""

    def __init__(
        self,
        method: str,
        uri: str,
        headers: Mapping[str, str],
        query: list[tuple[str, str]],
        form: list[tuple[str, str]],
    ) -> None:
        super().__init__(method=method, uri=uri, headers=headers)
        self._query = dict(reversed(query))
        self._form = dict(reversed(form))
        self.payload = _Payload(query + form)

    @property
    def args(self) -> dict[str, str]:
        return self._query

    @property
    def form(self) -> dict[str, str]:
        return self._form


class HttpProviderServer(ProviderServer):
    client_auth: bool | None = None
    """How client authentication went (RFC 6749 §2.3): None if it did not happen, for the
    limit on failed authentication per client address."""
    client_has_secret = False

    def authenticate_client(self, request: Any, methods: Any, endpoint: str = "token") -> Client:
        try:
            client: Client = super().authenticate_client(request, methods, endpoint)
        except InvalidClientError:
            self.client_auth = False
            raise
        self.client_auth, self.client_has_secret = True, not client.is_public
        return client

    def create_oauth2_request(self, request: Any) -> HttpRequest:
        assert isinstance(request, HttpRequest)
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> Response:
        hdrs = dict(headers or [])
        if status == 302 and "Location" in hdrs:
            return RedirectResponse(hdrs.pop("Location"), status_code=302, headers=hdrs)
        hdrs.pop("Content-Type", None)
        if isinstance(body, dict):
            return JSONResponse(body, status_code=status, headers=hdrs)
        return Response(str(body), status_code=status, headers=hdrs)


# --- helpers -------------------------------------------------------------------------------


def runtime_of(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


async def read_oauth_form(request: Request) -> list[tuple[str, str]]:
    """The ``application/x-www-form-urlencoded`` body OAuth endpoints take (RFC 6749 §3.2,
    §4.1.3); any other request carries no form. Raises :class:`FormTooLarge`."""
    if request.method != "POST":
        return []
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        return []
    try:
        return await read_form_pairs(request, MAX_FORM_BYTES)
    except FormTooLarge:
        raise
    except ValueError:
        return []


Pairs = list[tuple[str, str]]


async def browser_parameters(request: Request, what: str) -> tuple[Pairs, Pairs] | Response:
    """The query and form pairs of an endpoint a browser reaches (``what``: "sign-in",
    "sign-out"), or the page to answer instead: 413 for a form over the bound, 400 for a
    parameter holding NUL (nothing stored could match it)."""
    try:
        form = await read_oauth_form(request)
    except FormTooLarge:
        return page(413, "Request too large", f"The {what} request is too large.")
    try:
        return query_pairs(request), form
    except ValueError:
        return page(400, f"Invalid {what} request", f"The {what} request could not be read.")


def public_uri(rt: Runtime, request: Request) -> str:
    query = request.url.query
    return rt.settings.public_url.rstrip("/") + request.url.path + (f"?{query}" if query else "")


def client_credential(request: Request, form: list[tuple[str, str]]) -> str | None:
    """A hash of the client credential presented (HTTP Basic, or ``client_id`` with
    ``client_secret`` in the form: RFC 6749 §2.3.1), or None without a secret: a public
    client's id is no secret."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic" and value.strip():
        return "client:" + hash_secret("basic " + value.strip())[:32]
    data = dict(reversed(form))
    if data.get("client_secret"):
        pair = f"{data.get('client_id', '')}\0{data['client_secret']}"
        return "client:" + hash_secret(pair)[:32]
    return None


def too_many_failures(wait: int) -> JSONResponse:
    """429 for an address past the limit on failed client authentication; ``slow_down`` is
    the token endpoint's registered error for it (RFC 8628 §3.5)."""
    return JSONResponse(
        {
            "error": "slow_down",
            "error_description": "too many failed client authentications from this address",
        },
        status_code=429,
        headers={**NO_STORE, "Retry-After": str(wait)},
    )


class MalformedBasic(ValueError):
    """An ``Authorization: Basic`` header that does not carry client credentials."""


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """The client id and secret of ``Authorization: Basic`` (RFC 6749 §2.3.1: each
    form-urlencoded, then ``id:secret`` in base64 per RFC 7617 §2, UTF-8); None without that
    scheme. Raises :class:`MalformedBasic` for a value that is not strict base64, not UTF-8,
    without the colon, or whose id or secret holds NUL or is empty (id)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise MalformedBasic("the Basic credentials are not base64 of UTF-8 text") from None
    raw_id, colon, raw_secret = decoded.partition(":")
    client_id, secret = unquote(raw_id), unquote(raw_secret)
    if not colon or not client_id:
        raise MalformedBasic("the Basic credentials are not client_id:client_secret")
    try:
        check_text(client_id + secret, "the Basic credentials")
    except UnstorableText as exc:
        raise MalformedBasic(str(exc)) from None
    return client_id, secret


def basic_client_id(request: Request) -> str | None:
    """The client id of well-formed Basic credentials, else None."""
    try:
        creds = basic_credentials(request)
    except MalformedBasic:
        return None
    return creds[0] if creds else None


def invalid_basic(request: Request) -> JSONResponse | None:
    """RFC 6749 §5.2: credentials in a malformed ``Authorization: Basic`` header fail client
    authentication, ``invalid_client`` with 401 and a ``WWW-Authenticate`` challenge."""
    try:
        basic_credentials(request)
    except MalformedBasic as exc:
        response = oauth_error("invalid_client", str(exc), 401)
        response.headers["WWW-Authenticate"] = 'Basic realm="propylon"'
        return response
    return None


async def open_exchange(
    rt: Runtime, s: AsyncSession, now: datetime, *, signing: bool = False, verifying: bool = False
) -> Exchange:
    """An exchange over ``s``, with the signing key (``signing``: endpoints that issue tokens)
    and the published keys (``verifying``: endpoints that verify presented tokens)."""
    return Exchange(
        session=s,
        settings=rt.settings,
        sessions=rt.sessions,
        now=now,
        client_copies=rt.sign_in.clients,
        key=await rt.signing_keys.active(s, rt.settings.signing_alg, now) if signing else None,
        verifier=await keys.verifier(s, now, rt.signing_keys) if verifying else None,
    )


async def run_token_exchange(
    rt: Runtime,
    preload: Callable[[Exchange], Awaitable[None]],
    make_request: Callable[[], HttpRequest],
    respond: Callable[[HttpProviderServer, HttpRequest], Response],
    *,
    signing: bool = False,
    verifying: bool = False,
) -> tuple[Response, HttpProviderServer | None]:
    """One exchange at the provider's client endpoints (token, introspection, revocation),
    in one transaction: what Authlib's hooks read pre-loaded (``preload``: the clients, the
    code or token), Authlib's answer (``respond``), then the grants it revoked (a replayed
    code's, with their ``grant.revoked`` events, once) and its writes, even on an error.
    Used by ``/oauth2/*`` and by the console's in-process redeem of its own code. Returns
    the response and the server (``None`` when the request was refused before Authlib)."""
    server: HttpProviderServer | None = None
    out = Outboxes()
    async with rt.db.write() as s:
        ex = await open_exchange(rt, s, rt.clock(), signing=signing, verifying=verifying)
        await preload(ex)
        try:
            req = make_request()
        except InsecureTransportError:
            response: Response = oauth_error("invalid_request", "OAuth 2.0 requires https")
        else:
            server = HttpProviderServer(ex)
            response = respond(server, req)
        for grant in ex.revoked:
            await revoke_grant(
                s,
                rt.sessions,
                grant_id=grant.grant_id,
                client_id=grant.client_id,
                session_id=grant.session_id,
                reason=grant.reason,
                out=out,
                now=ex.now,
            )
        await ex.write_through()
        await out.flush(s, ex.now)
    await out.published(rt.events)
    return response, server


def oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=NO_STORE
    )


def oauth_request(
    rt: Runtime, request: Request, query: list[tuple[str, str]], form: list[tuple[str, str]]
) -> HttpRequest:
    return HttpRequest(request.method, public_uri(rt, request), request.headers, query, form)
