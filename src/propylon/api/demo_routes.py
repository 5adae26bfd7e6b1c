"""``/demo``: the demo host platform's pages (``PROPYLON_DEMO_ENABLED``, or ``propylon
demo``). The host itself (``demo/host.py``) talks to Propylon over HTTP only; these routes are
its web pages: sign in, the ID token and the roles the SDK sees, live, and the IdP control
that moves the signed-in person between groups over SCIM.

The host's sessions are its own (a cookie of ``/demo``, in this process's memory): an
anonymous visit writes nothing to Propylon's database."""

from __future__ import annotations

import json
import secrets
import urllib.parse
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from propylon.api.http import FormTooLarge, read_form
from propylon.api.pages import page, render
from propylon.demo.host import COOKIE, DemoError, DemoHost, HostSession
from propylon.demo.state import load_state
from propylon.runtime import Runtime

router = APIRouter(include_in_schema=False)

MAX_FORM_BYTES = 4096
_CLAIM_ORDER = ("sub", "email", "name", "given_name", "family_name", "org_slug", "org_id")


def _host(request: Request) -> DemoHost | None:
    """The process's demo host; made at the first request after ``propylon demo`` has
    saved its state (the server may have started before)."""
    host = getattr(request.app.state, "demo_host", None)
    if isinstance(host, DemoHost):
        return host
    rt: Runtime = request.app.state.runtime
    state = load_state(rt.settings.data_dir)
    if state is None:
        return None
    host = request.app.state.demo_host = DemoHost(rt.settings.public_url, state)
    return host


def _not_seeded() -> Response:
    return page(
        503,
        "The demo is not set up",
        "The demo tenant and its host app have not been made in this data directory.",
        "Start Propylon with `propylon demo`: it makes them, then serves.",
    )


def _with_cookie(response: Response, request: Request, sid: str) -> Response:
    response.set_cookie(
        COOKIE,
        sid,
        path="/demo",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


def _session(request: Request, host: DemoHost) -> tuple[str, HostSession]:
    return host.session(request.cookies.get(COOKIE))


def _signed_in(request: Request, host: DemoHost) -> tuple[str, HostSession] | None:
    sid = request.cookies.get(COOKIE)
    found = host.find(sid)
    return (sid, found) if sid and found is not None and found.id_claims is not None else None


def _unavailable() -> Response:
    return page(
        503,
        "Propylon did not answer",
        "The demo host could not reach Propylon. Try again in a moment.",
    )


def _moved_notice(request: Request, host: DemoHost) -> dict[str, str] | None:
    """What the IdP control just did (named by the group's id, said in our words)."""
    names = {gid: name for name, gid in host.state.groups.items()}
    for key, said in (("joined", "added you to"), ("left", "removed you from")):
        name = names.get(request.query_params.get(key, ""))
        if name is not None:
            text = f"The IdP {said} {name}: your roles follow in a moment, no new sign-in."
            return {"kind": "ok", "text": text}
    return None


@router.get("/demo")
async def demo_home(request: Request) -> Response:
    host = _host(request)
    if host is None:
        return _not_seeded()
    found = _signed_in(request, host)
    if found is None:
        return render(
            "demo/welcome.html",
            title="Demo host app",
            people=host.state.people,
            issuer=host.issuer,
        )
    _, s = found
    try:
        view = await host.view(s)
    except (httpx.HTTPError, OSError):
        return _unavailable()
    claims = view.claims
    ordered = [(k, claims[k]) for k in _CLAIM_ORDER if k in claims]
    ordered += sorted((k, v) for k, v in claims.items() if k not in _CLAIM_ORDER)
    notice = _moved_notice(request, host)
    return render(
        "demo/signed_in.html",
        title="Demo host app",
        claims=[(k, json.dumps(v, ensure_ascii=False)) for k, v in ordered],
        principal=view.principal,
        refused=view.refused,
        groups=view.groups,
        csrf=s.csrf,
        email=claims.get("email"),
        notice=notice,
    )


@router.get("/demo/login")
async def demo_login(request: Request) -> Response:
    host = _host(request)
    if host is None:
        return _not_seeded()
    sid, s = _session(request, host)
    return _with_cookie(RedirectResponse(host.login_url(s), status_code=303), request, sid)


@router.get("/demo/callback")
async def demo_callback(request: Request) -> Response:
    host = _host(request)
    if host is None:
        return _not_seeded()
    found = host.find(request.cookies.get(COOKIE))
    if found is None:
        return page(
            400,
            "Sign-in not started here",
            "This browser did not start a sign-in of the demo host app (or it expired).",
            links=[("/demo", "Start again")],
        )
    params = {k: v for k, v in request.query_params.items() if len(v) < 4096}
    try:
        await host.finish(found, params)
    except DemoError as exc:
        return page(400, "Sign-in refused", str(exc), links=[("/demo", "Start again")])
    except (httpx.HTTPError, OSError, ValueError, KeyError):
        return _unavailable()
    return RedirectResponse("/demo", status_code=303)


async def _form(request: Request, s: HostSession) -> dict[str, str] | Response:
    try:
        form = await read_form(request, MAX_FORM_BYTES)
    except FormTooLarge:
        return page(413, "Request too large", "The form sent was too large.")
    except ValueError:
        return page(400, "Form not understood", "The form sent could not be read.")
    if not secrets.compare_digest(form.get("csrf_token", ""), s.csrf):
        return page(
            403,
            "Form expired",
            "This form was not sent from the demo page, or it expired.",
            links=[("/demo", "Open the demo again")],
        )
    return form


@router.post("/demo/groups")
async def demo_groups(request: Request) -> Response:
    host = _host(request)
    if host is None:
        return _not_seeded()
    found = _signed_in(request, host)
    if found is None:
        return RedirectResponse("/demo", status_code=303)
    form = await _form(request, found[1])
    if isinstance(form, Response):
        return form
    join = form.get("action") == "add"
    try:
        await host.move(found[1], form.get("group", ""), join)
    except DemoError as exc:
        return page(400, "Not changed", str(exc), links=[("/demo", "Back to the demo")])
    except (httpx.HTTPError, OSError):
        return _unavailable()
    query = urllib.parse.urlencode({"joined" if join else "left": form.get("group", "")})
    return RedirectResponse(f"/demo?{query}", status_code=303)


@router.post("/demo/logout")
async def demo_logout(request: Request) -> Response:
    host = _host(request)
    if host is None:
        return _not_seeded()
    found = _signed_in(request, host)
    if found is not None:
        form = await _form(request, found[1])
        if isinstance(form, Response):
            return form
        host.sign_out(found[0])
    response = RedirectResponse("/demo", status_code=303)
    response.delete_cookie(COOKIE, path="/demo")
    return response


@router.get("/demo/live.json")
async def demo_live(request: Request) -> Response:
    """The entitlements the SDK sees now, for the page's script (demo-live.js)."""
    host = _host(request)
    found = _signed_in(request, host) if host is not None else None
    if host is None or found is None:
        return JSONResponse({"signed_in": False}, headers={"Cache-Control": "no-store"})
    try:
        principal, refused = await host.principal(found[1])
    except (httpx.HTTPError, OSError):
        return JSONResponse({"signed_in": True, "refused": "unavailable"}, status_code=503)
    body: dict[str, Any] = {"signed_in": True, "refused": refused}
    if principal is not None:
        body |= {
            "roles": list(principal.roles),
            "tier": principal.tier,
            "programs": list(principal.programs),
            "version": principal.entitlements_version,
            "source": principal.source,
        }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
