"""OpenID Connect guides per IdP (see :mod:`propylon.setup.guides`)."""

from __future__ import annotations

from propylon.setup.guide_model import Guide, Paste, SentAttribute, Step

_STANDARD = (
    SentAttribute("email", "email", "the verified email address", True),
    SentAttribute("given_name", "given_name", "the given name", True),
    SentAttribute("family_name", "family_name", "the family name", True),
    SentAttribute("display_name", "name", "the full name", True),
)
_CREDENTIALS = "Copy the client ID and the client secret into the form below."

OKTA = Guide(
    idp="okta",
    protocol="oidc",
    name="Okta",
    preset="okta",
    steps=(
        Step(
            "Create the app",
            "Okta Admin Console → Applications → Applications → Create App Integration",
            "Choose “OIDC - OpenID Connect” and “Web Application”, then Next.",
        ),
        Step(
            "Sign-in settings",
            "New Web App Integration → General Settings",
            "Grant type: Authorization Code. Paste these values, choose who is assigned, Save.",
            (
                Paste("redirect_uri", "Sign-in redirect URIs"),
                Paste("post_logout_redirect_uri", "Sign-out redirect URIs"),
                Paste("login_url", "Initiate login URI"),
            ),
        ),
        Step(
            "Groups claim (optional)",
            "Security → API → Authorization Servers, or the app → Sign On → OpenID Connect ID "
            "Token",
            "To send groups, set the Groups claim type to Filter, name it groups, filter "
            "“Matches regex” .* .",
        ),
        Step(
            "Credentials",
            "The app → General → Client Credentials",
            _CREDENTIALS + " The issuer is your Okta domain, e.g. https://acme.okta.com.",
        ),
    ),
    attributes=(*_STANDARD, SentAttribute("groups", "groups", "group names", False)),
    bring_back="The issuer (your Okta domain), the client ID and the client secret.",
    issuer_hint="https://YOUR-ORG.okta.com",
)

ENTRA = Guide(
    idp="entra",
    protocol="oidc",
    name="Microsoft Entra ID",
    preset="entra",
    steps=(
        Step(
            "Register the application",
            "Microsoft Entra admin center → App registrations → New registration",
            "Name it, choose who may sign in (usually this organisational directory only), "
            "Redirect URI platform Web, and paste the redirect URI. Register.",
            (Paste("redirect_uri", "Redirect URI (Web)"),),
        ),
        Step(
            "Logout URL",
            "The app → Authentication",
            "Paste the post-logout URL as a further redirect URI.",
            (Paste("post_logout_redirect_uri", "Redirect URIs"),),
        ),
        Step(
            "Claims",
            "The app → Token configuration",
            "Add the optional claims email, given_name and family_name to the ID token; "
            "“Add groups claim” to send group object ids.",
        ),
        Step(
            "Credentials",
            "The app → Certificates & secrets → New client secret; Overview",
            _CREDENTIALS + " The client ID is the “Application (client) ID”; the issuer is "
            "https://login.microsoftonline.com/ followed by the “Directory (tenant) ID” and "
            "/v2.0.",
        ),
    ),
    attributes=(
        SentAttribute("email", "email", "the mail address (optional claim)", False),
        SentAttribute("given_name", "given_name", "the given name (optional claim)", False),
        SentAttribute("family_name", "family_name", "the surname (optional claim)", False),
        SentAttribute("display_name", "name", "the display name", True),
        SentAttribute("groups", "groups", "group object ids", False),
        SentAttribute("roles", "roles", "app role values", True),
    ),
    bring_back="The issuer, the Application (client) ID and a client secret.",
    issuer_hint="https://login.microsoftonline.com/TENANT-ID/v2.0",
)

GOOGLE = Guide(
    idp="google",
    protocol="oidc",
    name="Google Workspace",
    preset="google",
    steps=(
        Step(
            "Create an OAuth client",
            "Google Cloud console → APIs & Services → Credentials → Create credentials → "
            "OAuth client ID",
            "Application type: Web application. Paste the redirect URI, then Create. (On "
            "the OAuth consent screen choose “Internal” so only your organisation's "
            "accounts can sign in.)",
            (Paste("redirect_uri", "Authorized redirect URIs"),),
        ),
        Step(
            "Credentials",
            "The client's details",
            _CREDENTIALS + " The issuer is https://accounts.google.com.",
        ),
    ),
    attributes=(*_STANDARD, SentAttribute("hosted_domain", "hd", "the Workspace domain", True)),
    bring_back="The client ID and client secret (issuer https://accounts.google.com).",
    issuer_hint="https://accounts.google.com",
)

ONELOGIN = Guide(
    idp="onelogin",
    protocol="oidc",
    name="OneLogin",
    preset="generic",
    steps=(
        Step(
            "Add the connector",
            "OneLogin Administration → Applications → Add App",
            "Search for “OpenID Connect (OIDC)”, name it and Save.",
        ),
        Step(
            "Configuration",
            "The app → Configuration",
            "Paste these values and Save.",
            (
                Paste("login_url", "Login Url"),
                Paste("redirect_uri", "Redirect URI's"),
                Paste("post_logout_redirect_uri", "Post Logout Redirect URI"),
            ),
        ),
        Step(
            "Token settings",
            "The app → SSO",
            "Application Type: Web; Token Endpoint Authentication Method: Basic. "
            + _CREDENTIALS
            + " The issuer is shown there too (https://YOUR-SUBDOMAIN.onelogin.com/oidc/2).",
        ),
        Step(
            "Groups (optional)",
            "The app → Parameters → Groups",
            "Choose what the groups claim carries (e.g. User Roles).",
        ),
    ),
    attributes=(*_STANDARD, SentAttribute("groups", "groups", "the Groups parameter", False)),
    bring_back="The issuer, the client ID and the client secret (SSO tab).",
    issuer_hint="https://YOUR-SUBDOMAIN.onelogin.com/oidc/2",
)

JUMPCLOUD = Guide(
    idp="jumpcloud",
    protocol="oidc",
    name="JumpCloud",
    preset="generic",
    steps=(
        Step(
            "Add a custom OIDC application",
            "JumpCloud Admin Portal → SSO Applications → Add New Application → Custom Application",
            "Choose “Manage Single Sign-On (SSO)” and “Configure SSO with OIDC”, name it.",
        ),
        Step(
            "SSO settings",
            "The application → SSO tab",
            "Paste these values. Client authentication type: Client Secret Basic. Under "
            "Attribute Mapping tick Email and Profile; to send groups, include the group "
            "attribute named groups.",
            (
                Paste("redirect_uri", "Redirect URIs"),
                Paste("login_url", "Login URL"),
            ),
        ),
        Step(
            "Credentials",
            "Shown once after you activate the application",
            _CREDENTIALS + " The issuer is https://oauth.id.jumpcloud.com/.",
        ),
    ),
    attributes=(*_STANDARD, SentAttribute("groups", "groups", "user group names", False)),
    bring_back="The client ID and client secret (issuer https://oauth.id.jumpcloud.com/).",
    issuer_hint="https://oauth.id.jumpcloud.com/",
)

GENERIC = Guide(
    idp="generic",
    protocol="oidc",
    name="Another IdP",
    preset="generic",
    steps=(
        Step(
            "Register a client",
            "Your IdP's admin console → applications (clients)",
            "Register a confidential web client using the authorization code flow, with "
            "these URLs. Client authentication: client_secret_basic (or _post).",
            (
                Paste("redirect_uri", "Redirect URI (callback)"),
                Paste("backchannel_logout_uri", "Back-channel logout URI (if offered)"),
                Paste("post_logout_redirect_uri", "Post-logout redirect URI"),
                Paste("login_url", "Initiate login URI (if offered)"),
            ),
        ),
        Step(
            "Claims",
            "The client's scopes and claims",
            "Allow the scopes openid, email and profile; a groups claim is read when present.",
        ),
        Step(
            "Bring back the issuer and credentials",
            "The client's details and the IdP's discovery document",
            "The issuer is the URL whose /.well-known/openid-configuration is the IdP's "
            "discovery document. " + _CREDENTIALS,
        ),
    ),
    attributes=(
        *_STANDARD,
        SentAttribute("groups", "groups", "group names", False),
        SentAttribute("roles", "roles", "role names", False),
    ),
    bring_back="The issuer, the client ID and the client secret.",
    issuer_hint="https://idp.example.com",
)

OIDC_GUIDES: tuple[Guide, ...] = (OKTA, ENTRA, GOOGLE, ONELOGIN, JUMPCLOUD, GENERIC)
