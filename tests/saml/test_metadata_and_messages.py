"""IdP metadata parsing, SP metadata generation, HTTP-Redirect and logout helpers."""

from __future__ import annotations

import base64
import datetime as dt
import zlib
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import etree

from propylon.saml import (
    IdpTrust,
    Reason,
    SamlValidationError,
    build_sp_metadata,
    parse_idp_metadata,
)
from propylon.saml.messages import (
    build_authn_request,
    build_logout_request,
    build_logout_response,
    new_id,
    parse_logout_request,
    parse_logout_response,
)
from propylon.saml.redirect import (
    decode_redirect_message,
    encode_redirect_url,
    verify_redirect_signature,
)

from . import idp as I

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
SLO_URL = "https://app.propylon.test/saml/slo/acme"


def _b64cert(kp: I.KeyPair) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding

    return base64.b64encode(kp.cert.public_bytes(Encoding.DER)).decode()


def _idp_metadata(*kps: I.KeyPair, enc: I.KeyPair | None = None) -> bytes:
    def kd(kp: I.KeyPair, use: str | None) -> str:
        u = f' use="{use}"' if use else ""
        return (
            f"<md:KeyDescriptor{u}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>\n"
            f"{_b64cert(kp)}\n</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
            "</md:KeyDescriptor>"
        )

    keys = kd(kps[0], "signing") + "".join(kd(k, None) for k in kps[1:])
    keys += kd(enc, "encryption") if enc else ""
    return (
        f'<md:EntityDescriptor xmlns:md="{MD}" xmlns:ds="{I.DS}" entityID="{I.IDP_ENTITY}">'
        '<md:IDPSSODescriptor WantAuthnRequestsSigned="true" '
        'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        f"{keys}"
        '<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
        'Location="https://idp.example/slo" ResponseLocation="https://idp.example/slo/r"/>'
        '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" '
        'Location="https://idp.example/sso/post"/>'
        '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
        'Location="https://idp.example/sso/redirect"/>'
        "</md:IDPSSODescriptor></md:EntityDescriptor>"
    ).encode()


def test_parse_idp_metadata_all_signing_certs(
    idp_kp: I.KeyPair, idp2_kp: I.KeyPair, sp_kp: I.KeyPair
) -> None:
    md = parse_idp_metadata(_idp_metadata(idp_kp, idp2_kp, enc=sp_kp))
    assert md.entity_id == I.IDP_ENTITY
    assert md.signing_certificates == (idp_kp.cert, idp2_kp.cert)
    assert md.encryption_certificates == (idp2_kp.cert, sp_kp.cert)
    assert md.sso_url() == "https://idp.example/sso/redirect"
    post = md.sso_url("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST")
    assert post is not None and post.endswith("/sso/post")
    slo = md.slo_endpoint()
    assert slo is not None and slo.response_location == "https://idp.example/slo/r"
    assert md.want_authn_requests_signed
    assert md.signing_certificate_expiry == (dt.datetime(2040, 1, 1, tzinfo=dt.UTC),) * 2
    trust = md.to_trust()
    assert len(trust.public_keys) == 2


def test_parse_idp_metadata_in_aggregate(idp_kp: I.KeyPair) -> None:
    single = _idp_metadata(idp_kp).decode()
    agg = f'<md:EntitiesDescriptor xmlns:md="{MD}">{single}</md:EntitiesDescriptor>'
    assert parse_idp_metadata(agg.encode(), entity_id=I.IDP_ENTITY).entity_id == I.IDP_ENTITY


@pytest.mark.parametrize(
    "bad",
    [
        b"<x/>",
        f'<md:EntityDescriptor xmlns:md="{MD}" entityID="e"/>'.encode(),
        b'<!DOCTYPE x [<!ENTITY a "b">]><x/>',
    ],
)
def test_bad_metadata(bad: bytes) -> None:
    with pytest.raises(SamlValidationError) as info:
        parse_idp_metadata(bad)
    assert info.value.reason in (Reason.METADATA_INVALID, Reason.DOCTYPE_FORBIDDEN)


def test_sp_metadata(sp_kp: I.KeyPair) -> None:
    xml = build_sp_metadata(
        entity_id=I.SP_ENTITY,
        acs_url=I.ACS_URL,
        slo_url=SLO_URL,
        signing_certificate=sp_kp.cert,
        encryption_certificate=sp_kp.cert,
        name_id_formats=("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",),
    )
    root = etree.fromstring(xml)
    assert root.get("entityID") == I.SP_ENTITY
    acs = root.find(f"{{{MD}}}SPSSODescriptor/{{{MD}}}AssertionConsumerService")
    assert acs is not None and acs.get("Location") == I.ACS_URL
    uses = [k.get("use") for k in root.iter(f"{{{MD}}}KeyDescriptor")]
    assert uses == ["signing", "encryption"]


def test_authn_request_redirect_signed(sp_kp: I.KeyPair) -> None:
    rid = new_id()
    assert rid.startswith("_") and len(rid) == 41
    xml = build_authn_request(
        request_id=rid,
        issue_instant=I.NOW,
        sp_entity_id=I.SP_ENTITY,
        acs_url=I.ACS_URL,
        destination="https://idp.example/sso",
    )
    url = encode_redirect_url(
        "https://idp.example/sso?tenant=1", xml, relay_state="/after login", signing_key=sp_kp.key
    )  # type: ignore[arg-type]
    parts = urlsplit(url)
    query = parts.query.split("&", 1)[1]  # drop the endpoint's own parameter
    params = verify_redirect_signature(query, [sp_kp.cert.public_key()])  # type: ignore[list-item]
    assert params["RelayState"] == "/after login"
    decoded = decode_redirect_message(params["SAMLRequest"])
    root = etree.fromstring(decoded)
    assert root.get("ID") == rid and root.get("IssueInstant") == "2025-03-14T15:09:26Z"
    assert root.get("AssertionConsumerServiceURL") == I.ACS_URL
    assert parse_qs(query)["SigAlg"] == ["http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"]
    with pytest.raises(SamlValidationError) as info:
        verify_redirect_signature(
            query.replace("RelayState=", "RelayState=x"), [sp_kp.cert.public_key()]
        )  # type: ignore[list-item]
    assert info.value.reason is Reason.SIGNATURE_INVALID


def test_redirect_inflate_bomb_refused() -> None:
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = bomb.compress(b"\0" * 10_000_000) + bomb.flush()
    with pytest.raises(SamlValidationError) as info:
        decode_redirect_message(base64.b64encode(data).decode())
    assert info.value.reason is Reason.TOO_LARGE


def test_unsigned_redirect_refused() -> None:
    url = encode_redirect_url("https://x", b"<a/>")
    with pytest.raises(SamlValidationError) as info:
        verify_redirect_signature(urlsplit(url).query, [])
    assert info.value.reason is Reason.SIGNATURE_MISSING


def test_logout_roundtrip(idp_kp: I.KeyPair, trust: IdpTrust) -> None:
    # The IdP sends a LogoutRequest (built with our builder, signed by the test IdP).
    xml = build_logout_request(
        request_id="_lr1",
        issue_instant=I.NOW,
        sp_entity_id=I.IDP_ENTITY,
        destination=SLO_URL,
        name_id="ada@example.com",
        session_index="s1",
    )
    root = I.tree_of(xml)
    I.sign(root, idp_kp)
    req = parse_logout_request(I.serialize(root), trust=trust, slo_url=SLO_URL, now=I.NOW)
    assert (req.name_id, req.session_indexes, req.request_id) == (
        "ada@example.com",
        ("s1",),
        "_lr1",
    )
    with pytest.raises(SamlValidationError) as info:
        parse_logout_request(xml, trust=trust, slo_url=SLO_URL, now=I.NOW)
    assert info.value.reason is Reason.SIGNATURE_MISSING
    # Via redirect binding, the caller verified the query signature instead.
    assert (
        parse_logout_request(
            xml, trust=trust, slo_url=SLO_URL, now=I.NOW, redirect_signature_verified=True
        ).name_id
        == "ada@example.com"
    )

    resp = build_logout_response(
        response_id="_r1",
        issue_instant=I.NOW,
        sp_entity_id=I.IDP_ENTITY,
        destination=SLO_URL,
        in_response_to="_sp_lr",
    )
    parsed = parse_logout_response(
        resp,
        trust=trust,
        slo_url=SLO_URL,
        expected_request_id="_sp_lr",
        redirect_signature_verified=True,
    )
    assert parsed.status.endswith("Success")
    with pytest.raises(SamlValidationError) as info:
        parse_logout_response(
            resp,
            trust=trust,
            slo_url=SLO_URL,
            expected_request_id="_other",
            redirect_signature_verified=True,
        )
    assert info.value.reason is Reason.IN_RESPONSE_TO_MISMATCH
