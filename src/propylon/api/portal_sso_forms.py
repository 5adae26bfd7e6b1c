"""What the SSO pages of the setup portal share: reading their forms (URL-encoded, or
multipart with one IdP metadata file), bounded and checked against the portal session's
anti-forgery token; the connections of the grant's tenant, found only within it (another
tenant's id is a 404, never a hint that it exists); who acts in the audit trail."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from cryptography import x509
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from propylon.admin import oidc_connections as oidc_ops
from propylon.admin import saml_connections as saml_ops
from propylon.api.csrf import Csrf, csrf_of
from propylon.api.http import FormTooLarge, read_bounded_body, read_form
from propylon.api.portal_auth import PortalDenied, check_portal_csrf
from propylon.errors import InvalidInput, NotFound
from propylon.ids import Kind, plausible
from propylon.portal.model import PortalGrant
from propylon.runtime import Runtime
from propylon.tenants.connection_ids import draft_id, is_new_id_shape
from propylon.tenants.saml_connections import IdpSource

MAX_FORM_BYTES = 16_384
MAX_UPLOAD_BYTES = 1_048_576
"""The largest IdP metadata document the portal takes (an aggregate is not one IdP's)."""
MAX_TEXT = 8_192
"""The largest text field (a certificate in PEM is about 2 KB)."""


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


_DRAFT_LABEL = "portal-draft-connection-id"
DRAFT_MAC_FIELD = "draft_mac"


def _drafts(rt: Runtime) -> Csrf:
    return csrf_of(rt.secret_box.subkeys, _DRAFT_LABEL)


def draft_mac(rt: Runtime, grant: PortalGrant, draft: str) -> str:
    """The proof that the portal picked ``draft`` for this portal session: ``api/csrf.py``'s
    HMAC bound to the session id and the draft id, under a subkey of its own label. The
    guide's address and form carry it with the id, so a browser cannot choose a connection
    id of its own (another tenant's deleted one, say) and a draft of one session is worthless
    in another."""
    return _drafts(rt).field_for(f"{grant.session_id}\n{draft}")


def draft_is_bound(rt: Runtime, grant: PortalGrant, kind: Kind, draft: str, mac: str) -> bool:
    """``draft`` has the shape of a new id of ``kind`` and ``mac`` is its :func:`draft_mac`
    for this session (under any configured key, so a rotation keeps open guides valid)."""
    bound = _drafts(rt).check_bound(f"{grant.session_id}\n{draft}", mac)
    return is_new_id_shape(kind, draft) and bound


def new_draft(rt: Runtime, grant: PortalGrant, kind: Kind) -> tuple[str, str]:
    """A new connection id of ``kind`` for this session, with its :func:`draft_mac`."""
    draft = draft_id(kind, None)
    return draft, draft_mac(rt, grant, draft)


def bound_draft(rt: Runtime, grant: PortalGrant, kind: Kind, form: dict[str, str]) -> str | None:
    """The draft id a POSTed form carries when the portal picked it for this session
    (:func:`draft_is_bound`), else ``None``."""
    draft, mac = form.get("draft", ""), form.get(DRAFT_MAC_FIELD, "")
    return draft if draft_is_bound(rt, grant, kind, draft, mac) else None


async def _multipart(request: Request, max_bytes: int) -> dict[str, str]:
    body = await read_bounded_body(request, max_bytes + MAX_FORM_BYTES)

    async def stream() -> AsyncGenerator[bytes, None]:
        yield body

    parser = MultiPartParser(
        request.headers, stream(), max_files=1, max_fields=20, max_part_size=MAX_TEXT
    )
    try:
        parsed = await parser.parse()
    except MultiPartException:
        raise ValueError("form not understood") from None
    out: dict[str, str] = {}
    for key, value in parsed.multi_items():
        if isinstance(value, UploadFile):
            data = await value.read(max_bytes + 1)
            await value.close()
            if len(data) > max_bytes:
                raise FormTooLarge("file too large")
            text = data.decode("utf-8", errors="strict") if data else ""
        else:
            text = value
        if "\x00" in key + text:
            raise ValueError("a form field holds NUL")
        out.setdefault(key, text)
    return out


async def read_sso_form(
    request: Request, grant: PortalGrant, *, upload: bool = False
) -> dict[str, str]:
    """The POSTed form, bounded, with this session's anti-forgery token checked; ``upload``:
    multipart with one file field allowed. Refusals are :class:`PortalDenied` pages (413,
    400, 403)."""
    try:
        ctype = request.headers.get("content-type", "")
        if upload and ctype.startswith("multipart/form-data"):
            form = await _multipart(request, MAX_UPLOAD_BYTES)
        else:
            form = await read_form(request, MAX_FORM_BYTES)
    except FormTooLarge:
        raise PortalDenied(413, "Too large", "The form or file sent was too large.") from None
    except (ValueError, UnicodeDecodeError):
        raise PortalDenied(400, "Form not understood", "The form sent could not be read.") from None
    check_portal_csrf(request, grant, form)
    return form


def kind_of(connection_id: str) -> str:
    """``saml`` or ``oidc`` by the id's prefix; :class:`NotFound` for anything else."""
    if plausible(connection_id):
        if connection_id.startswith("conn_"):
            return "saml"
        if connection_id.startswith("oidc_"):
            return "oidc"
    raise NotFound("no such connection")


async def tenant_connection(rt: Runtime, grant: PortalGrant, connection_id: str) -> dict[str, Any]:
    """The connection's view with its ``protocol``, only if it is the grant's tenant's."""
    kind = kind_of(connection_id)
    ops = saml_ops if kind == "saml" else oidc_ops
    view: dict[str, Any] = await ops.show_connection(rt, connection_id)
    if view["tenant_id"] != grant.tenant_id:
        raise NotFound("no such connection")
    return view | {"protocol": kind}


async def tenant_connections(rt: Runtime, grant: PortalGrant) -> list[dict[str, Any]]:
    saml = await saml_ops.list_connections(rt, grant.tenant_id)
    oidc = await oidc_ops.list_connections(rt, grant.tenant_id)
    return [v | {"protocol": "saml"} for v in saml] + [v | {"protocol": "oidc"} for v in oidc]


def certificates(pem_text: str) -> tuple[x509.Certificate, ...]:
    """Every PEM certificate in ``pem_text`` (:class:`InvalidInput` when there is none or one
    is not readable)."""
    try:
        certs = tuple(x509.load_pem_x509_certificates(pem_text.strip().encode()))
    except ValueError:
        raise InvalidInput("The certificate is not a PEM certificate.") from None
    return certs


def saml_source(form: dict[str, str]) -> IdpSource:
    """The IdP as the SAML form gave it: a metadata file first, then a URL, then the values
    by hand."""
    xml = form.get("metadata_file", "").strip()
    if xml:
        return IdpSource(metadata_xml=xml.encode())
    url = form.get("metadata_url", "").strip()
    if url:
        if not url.startswith(("https://", "http://")):
            raise InvalidInput("The metadata URL must start with https://.")
        return IdpSource(metadata_url=url)
    entity, sso, pem = (form.get(k, "").strip() for k in ("idp_entity_id", "sso_url", "cert"))
    if not (entity and sso and pem):
        raise InvalidInput(
            "Upload the IdP's metadata, give its metadata URL, or fill in its entity ID, "
            "SSO URL and certificate."
        )
    return IdpSource(sso_url=sso, idp_entity_id=entity, certificates=certificates(pem))
