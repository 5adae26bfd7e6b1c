"""What to change, and where, when a test connection fails: a remedy per refusal reason,
worded for the IdP's vendor where its console has its own names for the fields.

Every reason a test can fail with (:func:`propylon.setup.stages.known_reasons`) has a
generic remedy; vendors (``okta``, ``entra``, ``google``, ``onelogin``, ``jumpcloud``) have
their own for the failures people meet most. Remedies may name facts of the refusal
(``{expected_audience}``, ``{acs_url}``…); a fact not known reads as a plain phrase."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

VENDORS: Final = ("okta", "entra", "google", "onelogin", "jumpcloud", "generic")

_STATUS = (
    "The identity provider answered with an error ({status_code}{status_message}) instead of "
    "signing the person in. Check that the user is assigned to the application in the IdP and "
    "allowed to use it, then test again."
)
_MALFORMED = (
    "The identity provider's answer is not a SAML Response Propylon can read. Check that the "
    "application in the IdP uses SAML 2.0 with the HTTP-POST binding to the ACS URL {acs_url}."
)
_SIGNATURE = (
    "The signature does not verify with the certificate this connection trusts. Download the "
    "IdP's current signing certificate (or its metadata) and update the connection; the "
    "certificate presented has fingerprint {certificates_presented}, the trusted one "
    "{certificates_tried}."
)
_UNSIGNED = (
    "The identity provider did not sign the response or the assertion. Turn on signing of the "
    "assertion (or the whole response) in the application's SAML settings."
)
_SHA1 = (
    "The identity provider signs with SHA-1, which is refused. Choose RSA-SHA256 as the "
    "signature algorithm and SHA-256 as the digest algorithm in the application's SAML settings."
)
_ALGORITHM = (
    "The signature uses an algorithm Propylon does not accept. Choose RSA-SHA256 (and SHA-256 "
    "digests) in the IdP's SAML settings."
)
_DECRYPT = (
    "The encrypted assertion could not be decrypted. Upload this connection's SP metadata "
    "(its encryption certificate) to the IdP again, and use AES-256 or AES-128 (GCM or CBC)."
)
_ISSUER = (
    "The response comes from issuer {received_issuer}, but this connection expects "
    "{expected_issuer}. Paste the IdP's entity id (Issuer) exactly, or upload its metadata again."
)
_AUDIENCE = (
    "The assertion is meant for audience {received_audiences}, not for this connection's SP "
    "entity id {expected_audience}. Paste the SP entity id exactly as shown into the IdP."
)
_DESTINATION = (
    "The response was addressed to {received_destination}, not to this connection's ACS URL "
    "{acs_url}. Paste the ACS URL exactly as shown into the IdP."
)
_IRT = (
    "The response does not answer the sign-in request this test sent (InResponseTo). Start the "
    "test from this page again, and make sure the IdP application is not set to IdP-initiated "
    "only."
)
_TIME = (
    "The assertion's time window does not include Propylon's time (clock difference "
    "{clock_difference_seconds} s, allowed {allowed_skew_seconds} s). Check the IdP server's "
    "clock (use NTP); if the test took long, start it again."
)
_SUBJECT = (
    "The assertion has no usable subject (NameID). Set the NameID format to the email address "
    "(or a persistent identifier) in the IdP's SAML settings."
)
_EMAIL = (
    "The IdP sent no email address. Add an attribute statement named email (or the "
    "SAML claim http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress) with the "
    "user's email, or change this connection's attribute mapping to the name the IdP uses."
)
_UNKNOWN_USER = (
    "The person signed in at the IdP, but there is no such user in this tenant and "
    "just-in-time creation is off. Provision them through SCIM first, or allow just-in-time "
    "creation on this connection."
)
_INACTIVE = (
    "The person's account in this tenant is deactivated or deprovisioned. Reactivate it in the "
    "directory (or in the IdP's provisioning), or test with another user."
)
_OTHER_DOMAIN = (
    "The IdP sends people of another domain ({email}): assign the application only to people "
    "of your domains, or add and verify the domain in Domains."
)
_SEATS = (
    "Every licence seat of this tenant is taken, so just-in-time creation would refuse this "
    "person. Deactivate a user who left, or ask the platform to raise the seat limit."
)
_START_AGAIN = (
    "The test could not be matched to the sign-in this browser started, or took too long. "
    "Start the test again from this page, in the same browser."
)
_REPLAYED = "This answer was already used once. Start the test again from this page."
_OIDC_DISCOVERY = (
    "The issuer's discovery document ({issuer}/.well-known/openid-configuration) could not "
    "be read. Check the issuer URL of this connection."
)
_OIDC_ERROR = (
    "The OpenID Provider refused the sign-in ({error}{error_description}). Check that the "
    "user is assigned to the application and that the redirect URI is registered exactly."
)
_OIDC_TOKEN = (
    "The provider refused to exchange the code for tokens ({error}). Check the client id and "
    "client secret of this connection, and the client authentication method the provider "
    "expects."
)
_OIDC_TOKEN_BAD = (
    "The provider's token response or ID token is not usable. Make sure the application is an "
    "OpenID Connect web application (authorization code flow) that returns a signed ID token."
)
_OIDC_SIGNATURE = (
    "The ID token's signature does not verify with the provider's published keys (JWKS), or "
    "uses an algorithm that is not accepted. Use RS256 or ES256 signing in the provider."
)
_OIDC_AUDIENCE = (
    "The ID token was issued to another client. Check that the client id of this connection is "
    "the client id of the provider's application."
)
_OIDC_NONCE = "The ID token does not carry the nonce this test sent. Start the test again."
_OIDC_CLAIMS = (
    "The provider's claims could not be used (subject or UserInfo). Check the scopes "
    "(openid email profile) and that UserInfo is enabled for the application."
)
_UNREACHABLE = (
    "The provider could not be reached from Propylon. Check the issuer URL and that the "
    "provider is reachable from the Propylon server."
)

GENERIC: Final[dict[str, str]] = {}


def _all(text: str, *reasons: str) -> None:
    for reason in reasons:
        GENERIC[reason] = text


_all(_STATUS, "status_not_success")
_all(
    _MALFORMED,
    "malformed_base64",
    "too_large",
    "malformed_xml",
    "unsupported_encoding",
    "doctype_forbidden",
    "not_a_response",
    "unsupported_version",
    "duplicate_id",
    "missing_id",
    "malformed_time",
    "no_assertion",
    "assertion_not_encrypted",
    "multiple_assertions",
    "unexpected_content",
    "metadata_invalid",
    "message_invalid",
    "authn_statement_missing",
    "unknown_condition",
    "conditions_missing",
)
_all(_SIGNATURE, "signature_invalid", "digest_mismatch", "signature_reference_mismatch")
_all(_UNSIGNED, "signature_missing", "assertion_signature_missing", "multiple_signatures")
_all(_UNSIGNED, "signature_malformed")
_all(_SHA1, "sha1_forbidden")
_all(_ALGORITHM, "unsupported_algorithm")
_all(_DECRYPT, "decryption_key_missing", "decryption_failed", "unsupported_encryption_algorithm")
_all(_ISSUER, "issuer_mismatch", "issuer_missing")
_all(_AUDIENCE, "audience_mismatch")
_all(_DESTINATION, "destination_mismatch", "destination_missing", "recipient_mismatch")
_all(_DESTINATION, "no_bearer_confirmation")
_all(_IRT, "in_response_to_mismatch", "unsolicited_response")
_all(
    _TIME,
    "subject_confirmation_expired",
    "subject_confirmation_not_yet_valid",
    "assertion_expired",
    "assertion_not_yet_valid",
    "session_expired",
    "expired",
    "issued_in_future",
    "not_yet_valid",
    "auth_time_missing",
    "auth_too_old",
)
_all(_SUBJECT, "subject_missing", "nameid_missing", "nameid_malformed")
_all(_EMAIL, "jit_without_email", "email_missing")
_all(
    "The provider says the email address is not verified. Verify it in the provider, or "
    "mark it verified (email_verified) for this application.",
    "email_not_verified",
)
_all(_UNKNOWN_USER, "unknown_user")
_all(_INACTIVE, "user_deactivated", "user_deprovisioned")
_all(_OTHER_DOMAIN, "email_domain_not_owned")
_all(_SEATS, "seat_limit_reached")
_all(_START_AGAIN, "pending_login_invalid", "request_used_or_expired", "state_invalid")
_all(_START_AGAIN, "code_missing", "not_started_in_this_browser")
_all(_REPLAYED, "assertion_replayed", "id_token_replayed")
_all(_OIDC_DISCOVERY, "discovery_failed", "metadata_invalid", "jwks_failed")
_all(_OIDC_ERROR, "idp_error", "iss_missing")
_all(_OIDC_TOKEN, "token_error")
_all(
    _OIDC_TOKEN_BAD,
    "token_response_invalid",
    "malformed",
    "encrypted_unsupported",
    "crit_unsupported",
    "typ_mismatch",
    "claim_missing",
)
_all(_OIDC_SIGNATURE, "alg_not_allowed", "unknown_kid", "key_mismatch")
_all(_OIDC_AUDIENCE, "untrusted_audience", "azp_missing", "azp_mismatch")
_all(_OIDC_NONCE, "nonce_missing", "nonce_mismatch", "nonce_present")
_all(
    _OIDC_CLAIMS,
    "subject_invalid",
    "events_invalid",
    "subject_mismatch",
    "userinfo_unavailable",
    "userinfo_failed",
    "userinfo_invalid",
)
_all(_UNREACHABLE, "idp_unreachable")

_SAML_APP: Final = {
    "okta": "in Okta, open the application's General tab, SAML Settings, Edit",
    "entra": "in Microsoft Entra ID, open Enterprise applications, the application, Single sign-on",
    "google": "in the Google Admin console, open Apps, Web and mobile apps, the SAML app",
    "onelogin": "in OneLogin, open Applications, the application, Configuration",
    "jumpcloud": "in JumpCloud, open SSO Applications, the application, SSO tab",
}
_ATTRIBUTES: Final = {
    "okta": "in Okta, the application's SAML Settings, Attribute Statements: add Name "
    "'email', value user.email",
    "entra": "in Microsoft Entra ID, the application's Single sign-on, Attributes & Claims: "
    "add a claim 'email' with source attribute user.mail",
    "google": "in the Google Admin console, the SAML app's Attribute mapping: map Primary "
    "email to the app attribute 'email'",
    "onelogin": "in OneLogin, the application's Parameters: add 'email' with value Email, "
    "included in the SAML assertion",
    "jumpcloud": "in JumpCloud, the application's SSO tab, User Attributes: add 'email' "
    "mapped to email",
}
VENDOR: Final[dict[tuple[str, str], str]] = {
    ("sha1_forbidden", "okta"): "The IdP signs with SHA-1: in Okta, open the app's SAML "
    "settings, Advanced, and choose SHA-256 for the signature and digest algorithm.",
    ("sha1_forbidden", "entra"): "The IdP signs with SHA-1: in Microsoft Entra ID, open the "
    "application's Single sign-on, SAML Certificates, Edit, and choose SHA-256 as the signing "
    "algorithm.",
    ("sha1_forbidden", "onelogin"): "The IdP signs with SHA-1: in OneLogin, open the "
    "application's SSO tab and choose SHA-256 as the SAML signature algorithm.",
    ("sha1_forbidden", "jumpcloud"): "The IdP signs with SHA-1: JumpCloud signs with SHA-256 "
    "by default; check that the application was not imported with a SHA-1 template.",
    ("audience_mismatch", "entra"): "The assertion is meant for {received_audiences}: in "
    "Microsoft Entra ID, Basic SAML Configuration, set Identifier (Entity ID) to "
    "{expected_audience}.",
    ("audience_mismatch", "okta"): "The assertion is meant for {received_audiences}: in Okta's "
    "SAML Settings, set Audience URI (SP Entity ID) to {expected_audience}.",
    ("audience_mismatch", "google"): "The assertion is meant for {received_audiences}: in the "
    "Google Admin console's SAML app, Service provider details, set Entity ID to "
    "{expected_audience}.",
    ("audience_mismatch", "onelogin"): "The assertion is meant for {received_audiences}: in "
    "OneLogin's Configuration, set Audience (EntityID) to {expected_audience}.",
    ("audience_mismatch", "jumpcloud"): "The assertion is meant for {received_audiences}: in "
    "JumpCloud's SSO tab, set SP Entity ID to {expected_audience}.",
    ("signature_invalid", "okta"): "The signature does not verify with the trusted "
    "certificate: in Okta, the application's Sign On tab, download the current SAML signing "
    "certificate (or the IdP metadata) and update this connection.",
    ("signature_invalid", "entra"): "The signature does not verify with the trusted "
    "certificate: in Microsoft Entra ID, Single sign-on, SAML Certificates, download "
    "Certificate (Base64) or the Federation Metadata XML and update this connection; check "
    "that the active certificate is the one you downloaded.",
}
for vendor, where in _SAML_APP.items():
    VENDOR.setdefault(
        ("destination_mismatch", vendor),
        f"The response was addressed to {{received_destination}}: {where}, and set the ACS "
        "(Reply or Consumer) URL to {acs_url}.",
    )
    VENDOR.setdefault(
        ("recipient_mismatch", vendor),
        f"The assertion's recipient is not this connection's ACS: {where}, and set the ACS "
        "(Reply or Consumer) URL to {acs_url}.",
    )
_ASSIGNMENT: Final = {
    "okta": "in Okta, the application's Assignments tab: assign it only to people or groups of "
    "your domains",
    "entra": "in Microsoft Entra ID, the enterprise application's Users and groups: assign it "
    "only to people of your domains",
    "google": "in the Google Admin console, the SAML app's User access: turn it on only for "
    "the organizational units of your domains",
    "onelogin": "in OneLogin, the application's Users (or the roles it is given to): keep "
    "only people of your domains",
    "jumpcloud": "in JumpCloud, the application's User Groups: bind only groups of people of "
    "your domains",
}
for vendor, where in _ASSIGNMENT.items():
    VENDOR[("email_domain_not_owned", vendor)] = (
        f"The IdP sends people of another domain ({{email}}): {where}; or add and verify the "
        "domain in Domains."
    )
for vendor, where in _ATTRIBUTES.items():
    VENDOR[("jit_without_email", vendor)] = f"The IdP sent no email address: {where}."
    VENDOR[("email_missing", vendor)] = f"The IdP sent no email address: {where}."


class _Facts(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "(see the facts below)"


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    return str(value)


def remedy(reason: str, vendor: str = "generic", facts: Mapping[str, Any] | None = None) -> str:
    """The remedy of ``reason`` for an IdP of ``vendor``, with the facts filled in."""
    template = VENDOR.get((reason, vendor)) or GENERIC.get(reason)
    if template is None:
        template = "The test failed ({reason}). Check the connection's settings in the IdP."
    values = _Facts({k: _text(v) for k, v in (facts or {}).items()})
    values.setdefault("reason", reason)
    for key in ("status_message", "error_description"):
        values[key] = f": {values[key]}" if values.get(key) else ""
    values.setdefault("status_code", "no status")
    values.setdefault("error", "no error code")
    return template.format_map(values)
