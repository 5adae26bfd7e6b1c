"""What the portal walks share: pysaml2 as a SAML IdP on a loopback HTTP server (it reads
the AuthnRequest and answers with a page that posts its signed Response to the ACS), the
browser opening a portal link, screenshots and the accessibility check of each page."""

from __future__ import annotations

import base64
import os
import secrets
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from propylon.admin import portal_links
from propylon.admin.audited import CLI
from tests.a11y import assert_accessible
from tests.conftest import Server
from tests.loopback_http import LoopbackHttp
from tests.portal_walk.sso_helpers import metadata_for
from tests.saml.idp import KeyPair, make_keypair
from tests.sso.test_saml_pysaml2 import REDIRECT_BINDING, pysaml2_server

SHOTS = Path(os.environ.get("PROPYLON_SCREENSHOTS") or "test-artifacts/screenshots")


async def look(page: Any, name: str) -> None:
    """Save a screenshot of the page and fail on any serious accessibility violation."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    await assert_accessible(page, name)


async def open_portal(server: Server, context: Any, tenant: str, name: str) -> Any:
    """A link for ``tenant`` (intent ``sso``) opened in a new page of ``context``: the
    "Continue" page, then the portal's overview."""
    link = await portal_links.create_link(server.rt, CLI, tenant, ["sso"], None, None)
    page = await context.new_page()
    await page.goto(link["url"])
    await look(page, f"{name}-01-continue")
    await page.click("#continue")
    await page.wait_for_url(f"{server.url}/portal")
    await look(page, f"{name}-02-overview")
    return page


class Pysaml2Idp:
    """pysaml2's IdP on loopback. Its metadata names ``key``; it signs with ``signer`` (the
    same key, or another one for the wrong-certificate walk). It is built at the first
    AuthnRequest, from the SP metadata the admin downloaded from the portal (``sp_metadata``)."""

    def __init__(self, tmp: Path, email: str, signer: KeyPair | None = None) -> None:
        self.tmp, self.email = tmp, email
        self.key = make_keypair("pysaml2 walk IdP")
        self.signer = signer or self.key
        self.http = LoopbackHttp(self.answer)
        base = f"http://127.0.0.1:{self.http.port}"
        self.entity_id, self.sso = f"{base}/idp", f"{base}/sso"
        self.sp_metadata = b""
        self.server: Any = None
        self.metadata_file = tmp / f"idp-{secrets.token_hex(3)}.xml"
        self.metadata_file.write_bytes(metadata_for(self.key, self.entity_id, self.sso))

    def answer(self, path: str) -> tuple[int, dict[str, str], bytes]:
        from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID
        from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

        if not path.startswith("/sso?"):
            return 404, {"Content-Type": "text/plain"}, b"not found"
        if self.server is None:
            self.server = pysaml2_server(
                self.tmp, self.entity_id, self.signer, self.sp_metadata, self.sso, self.sso + "/slo"
            )
        q = {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}
        req = self.server.parse_authn_request(
            q["SAMLRequest"],
            REDIRECT_BINDING,
            relay_state=q.get("RelayState"),
            sigalg=q.get("SigAlg"),
            signature=q.get("Signature"),
        )
        acs = req.message.assertion_consumer_service_url
        resp = self.server.create_authn_response(
            identity={"mail": [self.email], "givenName": ["Ada"], "sn": ["Lovelace"]},
            in_response_to=req.message.id,
            destination=acs,
            sp_entity_id=req.message.issuer.text,
            name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=self.email),
            authn={
                "class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
                "authn_auth": self.entity_id,
            },
            sign_assertion=True,
            sign_alg=SIG_RSA_SHA256,
            digest_alg=DIGEST_SHA256,
        )
        saml = base64.b64encode(str(resp).encode()).decode()
        relay = escape(q.get("RelayState", ""))
        page = (
            '<!doctype html><html lang="en"><title>pysaml2 IdP</title>'
            '<body onload="document.forms[0].submit()">'
            f'<form method="post" action="{escape(acs)}">'
            f'<input type="hidden" name="SAMLResponse" value="{saml}">'
            f'<input type="hidden" name="RelayState" value="{relay}">'
            "<noscript><button>Continue</button></noscript></form></body></html>"
        )
        return 200, {"Content-Type": "text/html; charset=utf-8"}, page.encode()

    def close(self) -> None:
        self.http.close()
