"""The answer to a SAML test connection at the ACS: the Response checked exactly as a
sign-in checks it (:func:`propylon.saml.validate_response` with the connection's policy,
the test's AuthnRequest as InResponseTo), its assertion id remembered in the replay cache,
the attributes mapped, the user matched but never provisioned, no session started; the
result recorded on the test (``setup/tests_store.py``)."""

from __future__ import annotations

import binascii
from typing import Any

from propylon.runtime import Runtime
from propylon.saml import Assertion, Reason, SamlValidationError, validate_response
from propylon.saml.xml import DS, b64decode_strict, child, secure_fromstring
from propylon.sessions.pending_cookie import PendingLogin
from propylon.setup.stages import stage_of
from propylon.signin.connection_test import load_any_saml
from propylon.signin.connection_test_record import (
    StageFailure,
    Verdict,
    bounded_attributes,
    conclude,
    judge,
    lock_pending,
    mapped_fields,
    pending_row,
)
from propylon.signin.saml_replay import remember_assertion
from propylon.signin.saml_sso import policy_of
from propylon.signin.saml_users import find_user
from propylon.tenants.saml_connections import ConnectionRecord, sp_urls

_ALGORITHMS = {
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": "RSA-SHA256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": "RSA-SHA384",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": "RSA-SHA512",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256": "ECDSA-SHA256",
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1": "RSA-SHA1",
}
_SIGNATURE = f"{{{DS}}}Signature"
_RESPONSE_LEVEL = ("issuer", "destination", "in_response_to")


def _response_signed(saml_response: str, max_bytes: int) -> bool:
    """Whether the Response itself carries a signature (then it was verified before any
    other check); an unreadable one is not."""
    try:
        root = secure_fromstring(b64decode_strict(saml_response), max_bytes)
    except (SamlValidationError, binascii.Error, ValueError):
        return False
    return child(root, _SIGNATURE) is not None


def _validate(
    rt: Runtime, conn: ConnectionRecord, saml_response: str, pending: PendingLogin
) -> tuple[Assertion | None, Verdict]:
    verdict = Verdict()
    if pending.expires_at <= rt.clock():
        verdict.failed = StageFailure("request_used_or_expired", "response_received")
        return None, verdict
    try:
        assertion = validate_response(
            saml_response,
            trust=rt.saml_keys.trust(conn),
            policy=policy_of(rt, conn),
            expected_request_id=pending.request_id,
            now=rt.clock(),
            sp_decryption_key=rt.saml_keys.private_key(conn),
        )
    except SamlValidationError as exc:
        stage = stage_of("saml", exc.reason.value)
        verdict.failed = StageFailure(exc.reason.value, stage, exc.details)
        max_bytes = rt.settings.saml_max_response_bytes
        if "assertion_id" in exc.details:
            pass  # read from the assertion, so after its signature was verified
        elif stage in _RESPONSE_LEVEL and exc.details.get("element") != "Assertion":
            verdict.signature_checked = _response_signed(saml_response, max_bytes)
        elif exc.reason is Reason.STATUS_NOT_SUCCESS and _response_signed(saml_response, max_bytes):
            verdict.signature_verified = True  # a signed Response is verified before its Status
            verdict.passed["signature"] = "response signed"
        return None, verdict
    signed = "response and assertion" if assertion.response_signed else "assertion"
    if not assertion.assertion_signed:
        signed = "response"
    algorithm = _ALGORITHMS.get(assertion.signature_algorithm, assertion.signature_algorithm)
    verdict.passed = {
        "response_received": "Status Success" + (", encrypted" if assertion.encrypted else ""),
        "signature": f"{signed} signed with {algorithm}",
        "issuer": assertion.issuer,
        "destination": sp_urls(rt.settings.public_url, conn.id)["acs_url"],
        "in_response_to": assertion.in_response_to or "",
        "time_window": f"valid until {assertion.not_on_or_after.isoformat()}",
        "audience": conn.sp_entity_id,
    }
    verdict.attributes = bounded_attributes(assertion.attributes)
    verdict.mapped = mapped_fields(assertion.attributes, conn.attribute_map)
    return assertion, verdict


async def finish_saml_test(
    rt: Runtime,
    connection_id: str,
    pending: PendingLogin,
    saml_response: str,
    request_id: str | None = None,
) -> str:
    """Check the Response posted to the ACS as the answer to the test ``pending`` names,
    record the result, return the page to send the browser to. :class:`LoginRefused` when
    there is no such test waiting (answered already, another connection);
    :class:`~propylon.errors.NotFound` when the connection is gone."""
    async with rt.db.read() as s:
        conn = await load_any_saml(s, connection_id)
    row = await pending_row(rt, pending, conn.id, "saml")
    assertion, verdict = _validate(rt, conn, saml_response, pending)
    now = rt.clock()
    facts: dict[str, Any] = {"acs_url": sp_urls(rt.settings.public_url, conn.id)["acs_url"]}
    async with rt.db.write() as s:
        row = await lock_pending(s, row.id)
        if assertion is not None:
            try:
                until = assertion.replay_cache_until
                if not await remember_assertion(s, conn.id, assertion.assertion_id, until, now):
                    raise StageFailure("assertion_replayed", "response_received")
                found, email = await find_user(s, conn, assertion)
                verdict.mapped["email"] = verdict.mapped.get("email") or email
                verdict.user = await judge(
                    s,
                    conn.tenant_id,
                    found,
                    email,
                    jit=conn.jit,
                    email_needed=conn.match_by == "email",
                )
                verdict.passed["attributes"] = f"email {email}" if email else "mapped"
                verdict.passed["user"] = str(verdict.user["outcome"]).replace("_", " ")
            except StageFailure as exc:
                verdict.failed = exc
        return await conclude(s, row, verdict, facts, now, request_id)
