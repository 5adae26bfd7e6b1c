"""Lasso (Entr'ouvert's C library, Debian's python3-lasso) as the IdP of an interoperability
test. Runs under the system Python that python3-lasso is built for, not the project's: reads
one JSON request on stdin, writes ``{"SAMLResponse", "RelayState"}``. SP-initiated when
``query`` (the HTTP-Redirect query string Propylon sent the browser with) is given, else
IdP-initiated (SAML Profiles §4.1.5)."""

from __future__ import annotations

import datetime as dt
import json
import sys
import tempfile
from pathlib import Path

import lasso


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def main() -> None:
    req = json.load(sys.stdin)
    with tempfile.TemporaryDirectory() as tmp:  # lasso reads the key when it signs
        files = {}
        for name in ("idp_metadata", "sp_metadata", "key_pem", "cert_pem"):
            files[name] = str(Path(tmp) / name)
            Path(files[name]).write_text(req[name])
        server = lasso.Server(files["idp_metadata"], files["key_pem"], None, files["cert_pem"])
        server.signatureMethod = lasso.SIGNATURE_METHOD_RSA_SHA256
        server.addProvider(lasso.PROVIDER_ROLE_SP, files["sp_metadata"])
        login = lasso.Login(server)
        if req.get("query"):
            login.processAuthnRequestMsg(req["query"])
        else:
            login.initIdpInitiatedAuthnRequest(req["sp_entity_id"])
            login.request.nameIdPolicy.format = lasso.SAML2_NAME_IDENTIFIER_FORMAT_EMAIL
            login.request.nameIdPolicy.allowCreate = True
            login.request.protocolBinding = lasso.SAML2_METADATA_BINDING_POST
            login.processAuthnRequestMsg(None)
        login.validateRequestMsg(True, True)
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        login.buildAssertion(
            lasso.SAML2_AUTHN_CONTEXT_PASSWORD_PROTECTED_TRANSPORT,
            _iso(now),
            None,
            _iso(now - dt.timedelta(minutes=1)),
            _iso(now + dt.timedelta(minutes=5)),
        )
        name_id = login.assertion.subject.nameID
        name_id.format = lasso.SAML2_NAME_IDENTIFIER_FORMAT_EMAIL
        name_id.content = req["email"]
        login.buildAuthnResponseMsg()
        json.dump({"SAMLResponse": login.msgBody, "RelayState": login.msgRelayState}, sys.stdout)


if __name__ == "__main__":
    main()
