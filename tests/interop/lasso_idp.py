"""Lasso (Entr'ouvert's C library, Debian's python3-lasso) as the IdP of an interoperability
test. Runs under the system Python that python3-lasso is built for, not the project's: reads
one JSON request on stdin, writes one JSON answer. ``action``:

- ``login_response`` (the default): ``{"SAMLResponse", "RelayState", "session"}``.
  SP-initiated when ``query`` (the HTTP-Redirect query string Propylon sent the browser with)
  is given, else IdP-initiated (SAML Profiles §4.1.5). ``session`` is Lasso's session dump,
  which the logout actions take back.
- ``logout_response``: ``query`` is Propylon's HTTP-Redirect LogoutRequest; Lasso checks its
  signature against the SP metadata and that it names the session's NameID, and answers with
  a signed HTTP-Redirect LogoutResponse: ``{"name_id", "url"}`` (SAML Profiles §4.4).
- ``logout_request``: a signed HTTP-Redirect LogoutRequest for ``session``:
  ``{"request_id", "url", "logout"}``; ``parse_logout_response`` takes that ``logout`` dump
  back with ``query`` (Propylon's answer), checks its signature and Status:
  ``{"in_response_to", "issuer"}``."""

from __future__ import annotations

import datetime as dt
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import lasso


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def logout(server: lasso.Server, req: dict[str, Any]) -> dict[str, Any]:
    action = req["action"]
    if action == "parse_logout_response":
        done = lasso.Logout.newFromDump(server, req["logout"])
        done.processResponseMsg(req["query"])  # raises unless signed, matching and Success
        return {
            "in_response_to": done.response.inResponseTo,
            "issuer": done.response.issuer.content,
        }
    slo = lasso.Logout(server)
    slo.setSessionFromDump(req["session"])
    if action == "logout_response":
        slo.processRequestMsg(req["query"])
        slo.validateRequest()
        slo.buildResponseMsg()
        indexes = list(slo.request.sessionIndexes or ())
        return {
            "name_id": slo.request.nameId.content,
            "session_index": indexes[0],
            "url": slo.msgUrl,
        }
    if action == "logout_request":
        slo.initRequest(req["sp_entity_id"], lasso.HTTP_METHOD_REDIRECT)
        slo.msgRelayState = req.get("relay_state")
        slo.buildRequestMsg()
        return {"request_id": slo.request.iD, "url": slo.msgUrl, "logout": slo.dump()}
    raise ValueError(f"unknown action {action}")


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
        if req.get("action", "login_response") != "login_response":
            json.dump(logout(server, req), sys.stdout)
            return
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
        session = login.session.dump() if login.session else None
        answer = {"SAMLResponse": login.msgBody, "RelayState": login.msgRelayState}
        json.dump({**answer, "session": session}, sys.stdout)


if __name__ == "__main__":
    main()
