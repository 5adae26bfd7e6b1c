"""The test IdP's OpenID Provider (``/test-idp/oidc/…``): discovery, JWK Set, the
authorization endpoint (the same picker as SAML), token and userinfo endpoints.

It serves only Propylon's own OIDC connections that are its clients (their issuer is the
test IdP's, their client id the one asked) at their redirect URI: anything else is refused
with a page, never redirected (RFC 6749 §4.1.2.1). Nothing is stored for an anonymous
visitor; a code is remembered once it is redeemed, so it is used only once.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from propylon.admin.test_idp import answered_oidc
from propylon.api.http import read_form
from propylon.api.oauth_adapter import MalformedBasic, basic_credentials
from propylon.api.testidp_routes import enabled, picker_page, refused, too_many_answers
from propylon.runtime import Runtime
from propylon.tenants.oidc_connections import rp_urls
from propylon.testidp import oidc_provider as op
from propylon.testidp.connections import TrustingOidcConnection
from propylon.testidp.identity import CLIENT_PREFIX, oidc_issuer, test_client_secret, test_keys
from propylon.testidp.picker import read_choice
from propylon.testidp.scenarios import Scenario

router = APIRouter(
    prefix="/test-idp/oidc", include_in_schema=False, dependencies=[Depends(enabled)]
)
_FORM_BYTES = 64 * 1024
_MAX_PARAM = 1024
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_AUTH_PARAMS = ("client_id", "redirect_uri", "state", "nonce", "code_challenge", "scope")


def _rt(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def _issuer(rt: Runtime) -> str:
    return oidc_issuer(rt.settings.public_url)


def _key(rt: Runtime, purpose: str) -> bytes:
    return rt.secret_box.subkey(f"test-idp/oidc-{purpose}")


async def _client(
    rt: Runtime, client_id: str, redirect_uri: str
) -> tuple[TrustingOidcConnection | None, list[Any]]:
    """The connection that is the client ``client_id`` and owns ``redirect_uri``."""
    prefix = f"{rt.settings.public_url.rstrip('/')}/oidc/"
    if not client_id.startswith(CLIENT_PREFIX) or not redirect_uri.startswith(prefix):
        return None, []
    cid = redirect_uri[len(prefix) :].removesuffix("/callback")
    if "/" in cid or rp_urls(rt.settings.public_url, cid)["redirect_uri"] != redirect_uri:
        return None, []
    return await answered_oidc(rt, cid, client_id)


def _back(rt: Runtime, redirect_uri: str, **params: str | None) -> Response:
    """303 to the client's redirect URI with ``params`` and ``iss`` (RFC 9207)."""
    query = urlencode({k: v for k, v in params.items() if v is not None} | {"iss": _issuer(rt)})
    return RedirectResponse(f"{redirect_uri}?{query}", status_code=303, headers=_NO_STORE)


@router.get("/.well-known/openid-configuration")
async def configuration(request: Request) -> JSONResponse:
    return JSONResponse(op.discovery(_issuer(_rt(request))))


@router.get("/jwks")
async def jwk_set(request: Request) -> JSONResponse:
    return JSONResponse(op.jwks(await test_keys(_rt(request))))


def _auth_request(values: dict[str, str]) -> dict[str, str]:
    return {k: values[k][:_MAX_PARAM] for k in _AUTH_PARAMS if values.get(k)}


@router.get("/authorize")
async def authorize(request: Request) -> Response:
    """The authorization endpoint (Core §3.1.2): the picker, for a known client."""
    rt = _rt(request)
    q = dict(request.query_params)
    if any(len(v) > _MAX_PARAM for v in q.values()):
        return refused("The sign-in request is too long.")
    conn, people = await _client(rt, q.get("client_id", ""), q.get("redirect_uri", ""))
    if conn is None:
        return refused(
            "The test OpenID Provider serves only Propylon's own OpenID Connect connections "
            "whose client id starts with test-client-, at their redirect URI."
        )
    redirect_uri, state = q["redirect_uri"], q.get("state")
    if q.get("response_type") != "code":
        return _back(rt, redirect_uri, error="unsupported_response_type", state=state)
    if "openid" not in q.get("scope", "").split():
        return _back(rt, redirect_uri, error="invalid_scope", state=state)
    if q.get("code_challenge") and q.get("code_challenge_method") != "S256":
        return _back(rt, redirect_uri, error="invalid_request", state=state)
    return picker_page(
        action="/test-idp/oidc/answer",
        hidden=list(_auth_request(q).items()),
        protocol="oidc",
        target=conn.id,
        people=people,
    )


@router.post("/answer")
async def answer(request: Request) -> Response:
    """The picked person and scenario → back to the client with a code (or an error)."""
    rt = _rt(request)
    if limited := await too_many_answers(rt, request):
        return limited
    try:
        form = await read_form(request, _FORM_BYTES)
    except ValueError:
        return refused("The form could not be read.")
    asked = _auth_request(form)
    conn, people = await _client(rt, asked.get("client_id", ""), asked.get("redirect_uri", ""))
    if conn is None:
        return refused("The sign-in request names no client of the test OpenID Provider.")
    choice = read_choice(form, "oidc")
    if choice.errors:
        return picker_page(
            action="/test-idp/oidc/answer",
            hidden=list(asked.items()),
            protocol="oidc",
            target=conn.id,
            people=people,
            values=form,
            errors=choice.errors,
        )
    redirect_uri, state = asked["redirect_uri"], asked.get("state")
    if choice.scenario is Scenario.ERROR_RESPONSE:
        description = "The test IdP refused the sign-in (scenario error_response)."
        return _back(
            rt, redirect_uri, error="access_denied", error_description=description, state=state
        )
    grant = op.Grant.of(
        choice.person,
        choice.scenario,
        client_id=conn.client_id,
        redirect_uri=redirect_uri,
        nonce=asked.get("nonce"),
        code_challenge=asked.get("code_challenge"),
        now=rt.clock(),
    )
    code = op.seal(_key(rt, "code"), "code", op.grant_dict(grant))
    return _back(rt, redirect_uri, code=code, state=state)


def _token_error(error: str, status: int = 400) -> JSONResponse:
    headers = dict(_NO_STORE)
    if error == "invalid_client":
        headers["WWW-Authenticate"] = 'Basic realm="test-idp"'
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def _credentials(request: Request, form: dict[str, str]) -> tuple[str, str] | None:
    """client_secret_basic (``api/oauth_adapter.py``'s reader, RFC 6749 §2.3.1) or _post."""
    try:
        basic = basic_credentials(request)
    except MalformedBasic:
        return None
    if basic is not None:
        return basic
    if "client_id" in form and "client_secret" in form:
        return form["client_id"], form["client_secret"]
    return None


@router.post("/token")
async def token(request: Request) -> Response:
    """The token endpoint (RFC 6749 §4.1.3, Core §3.1.3): ``testidp/oidc_provider.redeem``."""
    rt = _rt(request)
    try:
        form = await read_form(request, _FORM_BYTES)
    except ValueError:
        return _token_error("invalid_request")
    keys = op.TokenKeys(_key(rt, "code"), _key(rt, "access"), await test_keys(rt))
    try:
        body = await op.redeem(
            form,
            _credentials(request, form),
            secret_of=lambda client_id: test_client_secret(rt, client_id),
            keys=keys,
            issuer=_issuer(rt),
            now=rt.clock(),
            first_use=rt.cache.remember_once,
        )
    except op.TokenError as exc:
        return _token_error(exc.error, exc.status)
    return JSONResponse(body, headers=_NO_STORE)


@router.api_route("/userinfo", methods=["GET", "POST"])
async def userinfo(request: Request) -> Response:
    """The UserInfo endpoint (Core §5.3) for a bearer access token (RFC 6750 §2.1)."""
    rt = _rt(request)
    header = request.headers.get("authorization", "")
    opened = None
    if header[:7].lower() == "bearer ":
        opened = op.open_sealed(_key(rt, "access"), "access", header[7:].strip(), rt.clock())
    if opened is None or not isinstance(opened.get("claims"), dict):
        return JSONResponse(
            {"error": "invalid_token"},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return JSONResponse(opened["claims"], headers=_NO_STORE)
