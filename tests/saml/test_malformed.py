"""Hostile or broken input: always one typed refusal, never another exception."""

from __future__ import annotations

import base64
import contextlib
import random
from collections.abc import Callable

import pytest

from propylon.saml import Reason, SamlValidationError, ValidationPolicy, validate_response

from . import idp as I
from .conftest import Validate

Refused = Callable[..., SamlValidationError]

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&xxe;</samlp:Response>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&lol3;</samlp:Response>"""

PARAMETER_ENTITY = b"""<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]>
<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>"""


def test_xxe(refused: Refused) -> None:
    refused(XXE, Reason.DOCTYPE_FORBIDDEN)


def test_billion_laughs(refused: Refused) -> None:
    refused(BILLION_LAUGHS, Reason.DOCTYPE_FORBIDDEN)


def test_parameter_entity(refused: Refused) -> None:
    refused(PARAMETER_ENTITY, Reason.DOCTYPE_FORBIDDEN)


def test_attlist_only_doctype(idp_kp: I.KeyPair, refused: Refused) -> None:
    """An ATTLIST can default an ID attribute in: any DOCTYPE at all is refused."""
    xml = I.build(idp=idp_kp)
    doctype = b"<!DOCTYPE saml2p:Response [<!ATTLIST saml2:Assertion ID ID #IMPLIED>]>"
    refused(doctype + xml, Reason.DOCTYPE_FORBIDDEN)
    refused(b"<!DOCTYPE saml2p:Response>" + xml, Reason.DOCTYPE_FORBIDDEN)


def test_lowercase_doctype_is_not_xml(idp_kp: I.KeyPair, refused: Refused) -> None:
    refused(b"<!doctype x>" + I.build(idp=idp_kp), Reason.MALFORMED_XML)


def test_external_entity_reference_without_doctype(refused: Refused) -> None:
    refused(
        b'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&xxe;'
        b"</samlp:Response>",
        Reason.MALFORMED_XML,
    )


@pytest.mark.parametrize(
    "value",
    ["not base64 at all!", "PHg+", "=====", "", "\u00e9t\u00e9", "PHNhbWw+" + "%" * 3],
)
def test_not_base64(policy: ValidationPolicy, trust: object, value: str) -> None:
    with pytest.raises(SamlValidationError) as info:
        validate_response(
            value,
            trust=trust,
            policy=policy,  # type: ignore[arg-type]
            expected_request_id=I.REQUEST_ID,
            now=I.NOW,
        )
    assert info.value.reason in (Reason.MALFORMED_BASE64, Reason.MALFORMED_XML)


def test_base64_with_line_breaks_accepted(
    validate: Validate, trust: object, policy: ValidationPolicy, idp_kp: I.KeyPair
) -> None:
    encoded = base64.encodebytes(I.build(idp=idp_kp))  # 76-column lines
    assert b"\n" in encoded
    a = validate_response(
        encoded,
        trust=trust,
        policy=policy,  # type: ignore[arg-type]
        expected_request_id=I.REQUEST_ID,
        now=I.NOW,
    )
    assert a.name_id == "ada@example.com"


def test_truncated(idp_kp: I.KeyPair, refused: Refused) -> None:
    xml = I.build(idp=idp_kp)
    refused(xml[: len(xml) // 2], Reason.MALFORMED_XML)


def test_nul_byte(idp_kp: I.KeyPair, refused: Refused) -> None:
    xml = I.build(idp=idp_kp)
    refused(xml.replace(b"ada@example.com", b"ada@example.com\x00", 1), Reason.UNSUPPORTED_ENCODING)


def test_utf16(idp_kp: I.KeyPair, refused: Refused) -> None:
    xml = I.build(idp=idp_kp).decode()
    refused(xml.encode("utf-16"), Reason.UNSUPPORTED_ENCODING)  # with BOM
    refused(xml.encode("utf-16-le"), Reason.UNSUPPORTED_ENCODING)  # NUL bytes


def test_utf8_bom(idp_kp: I.KeyPair, refused: Refused) -> None:
    refused(b"\xef\xbb\xbf" + I.build(idp=idp_kp), Reason.UNSUPPORTED_ENCODING)


def test_foreign_encoding_declaration(idp_kp: I.KeyPair, refused: Refused) -> None:
    xml = b'<?xml version="1.0" encoding="ISO-8859-1"?>' + I.build(idp=idp_kp)
    refused(xml, Reason.UNSUPPORTED_ENCODING)


def test_utf8_declaration_accepted(validate: Validate, idp_kp: I.KeyPair) -> None:
    xml = b'<?xml version="1.0" encoding="UTF-8"?>\n' + I.build(idp=idp_kp)
    assert validate(xml).name_id == "ada@example.com"


def test_invalid_utf8(idp_kp: I.KeyPair, refused: Refused) -> None:
    xml = I.build(idp=idp_kp).replace(b"Lovelace", b"Lovel\xffce")
    refused(xml, Reason.UNSUPPORTED_ENCODING)


def test_too_large(idp_kp: I.KeyPair, refused: Refused) -> None:
    small = ValidationPolicy(I.SP_ENTITY, I.ACS_URL, max_bytes=4096)
    refused(I.build(idp=idp_kp), Reason.TOO_LARGE, policy=small)
    huge = I.build(idp=idp_kp) + b" " * (300 * 1024)
    refused(huge, Reason.TOO_LARGE)


def test_bad_time_value(idp_kp: I.KeyPair, refused: Refused) -> None:
    spec = I.Spec()
    xml = I.response_xml(spec).encode().replace(b'AuthnInstant="', b'AuthnInstant="yesterday', 1)
    root = I.tree_of(xml)
    I.sign(root.find(f"{{{I.SAML}}}Assertion"), idp_kp)  # type: ignore[arg-type]
    refused(I.serialize(root), Reason.MALFORMED_TIME)


def test_fuzz_mutations_only_raise_typed_errors(validate: Validate, idp_kp: I.KeyPair) -> None:
    """Random truncations, byte flips and splices never escape as other exceptions."""
    rng = random.Random(1234)
    base = I.build(idp=idp_kp, sign_response=True)
    for _ in range(400):
        data = bytearray(base)
        op = rng.randrange(3)
        pos = rng.randrange(len(data))
        if op == 0:
            data = data[:pos]
        elif op == 1:
            data[pos] = rng.randrange(256)
        else:
            data[pos:pos] = rng.choice([b"<", b">", b"&", b'"', b"<!---->", b"\x00", b"]]>"])
        with contextlib.suppress(SamlValidationError):
            validate(bytes(data))


@pytest.mark.parametrize("value", [b"YWJj", b"YWI=", b"YQ==", b"", b"YQ", b"Y!==", b"YQ==YQ=="])
def test_base64_backends_agree(value: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    """The optional pybase64 fast path and the binascii fallback accept the same input."""
    from propylon.saml import xml as saml_xml

    def outcome() -> bytes | None:
        try:
            return saml_xml.b64decode_strict(value)
        except ValueError:  # binascii.Error is a ValueError
            return None

    fast = outcome()
    monkeypatch.setattr(saml_xml, "_pybase64_decode", None)
    assert outcome() == fast
