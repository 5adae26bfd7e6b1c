"""SAML 2.0 guides per IdP (see :mod:`propylon.setup.guides`)."""

from __future__ import annotations

from propylon.setup.guide_model import Guide, Paste, SentAttribute, Step

_CLAIMS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"
_MS_CLAIMS = "http://schemas.microsoft.com/ws/2008/06/identity/claims/"
_SHA256 = "Sign with RSA-SHA256 (not SHA-1, which Propylon refuses)."

OKTA = Guide(
    idp="okta",
    protocol="saml",
    name="Okta",
    preset="okta",
    steps=(
        Step(
            "Create the app",
            "Okta Admin Console → Applications → Applications → Create App Integration",
            "Choose “SAML 2.0”, then Next. Give the app a name your people recognise.",
        ),
        Step(
            "Fill in the SAML settings",
            "Create SAML Integration → Configure SAML → General",
            "Paste these values. Keep “Use this for Recipient URL and Destination URL” "
            "ticked. Name ID format: EmailAddress; Application username: Email.",
            (
                Paste("acs_url", "Single sign-on URL"),
                Paste("sp_entity_id", "Audience URI (SP Entity ID)"),
            ),
        ),
        Step(
            "Add the attribute statements",
            "Configure SAML → Attribute Statements and Group Attribute Statements",
            "Add email = user.email, firstName = user.firstName, lastName = user.lastName, "
            "department = user.department; a group statement named groups with the filter "
            "“Matches regex” .* . " + _SHA256 + " (Show Advanced Settings → Signature "
            "Algorithm and Digest Algorithm: SHA256.)",
        ),
        Step(
            "Assign people and copy the metadata URL",
            "The app → Assignments, then Sign On → SAML 2.0 → Metadata details",
            "Assign the people or groups who sign in this way. Copy the “Metadata URL” and "
            "paste it in the form below.",
        ),
    ),
    attributes=(
        SentAttribute("email", "email", "user.email", False),
        SentAttribute("given_name", "firstName", "user.firstName", False),
        SentAttribute("family_name", "lastName", "user.lastName", False),
        SentAttribute("department", "department", "user.department", False),
        SentAttribute("groups", "groups", "group names matching the filter", False),
    ),
    bring_back="The app's Metadata URL (Sign On tab).",
)

ENTRA = Guide(
    idp="entra",
    protocol="saml",
    name="Microsoft Entra ID",
    preset="entra",
    steps=(
        Step(
            "Create the enterprise application",
            "Microsoft Entra admin center → Enterprise applications → New application → "
            "Create your own application",
            "Name it, choose “Integrate any other application you don't find in the gallery "
            "(Non-gallery)”, then Create. Open Single sign-on and choose SAML.",
        ),
        Step(
            "Basic SAML Configuration",
            "Single sign-on → Basic SAML Configuration → Edit",
            "Paste these values and save.",
            (
                Paste("sp_entity_id", "Identifier (Entity ID)"),
                Paste("acs_url", "Reply URL (Assertion Consumer Service URL)"),
                Paste("login_url", "Sign on URL (optional)"),
                Paste("slo_url", "Logout Url (optional)"),
            ),
        ),
        Step(
            "Attributes & Claims",
            "Single sign-on → Attributes & Claims → Edit",
            "Entra sends the email address, given name, surname and display name by default. "
            "To send groups, choose “Add a group claim” (groups are sent as object ids "
            "unless you choose another source attribute). For the department, add a claim "
            "named department from user.department with the namespace shown below.",
        ),
        Step(
            "Assign people and copy the metadata URL",
            "Users and groups; then Single sign-on → SAML Certificates",
            "Assign the people or groups who sign in this way. Copy “App Federation Metadata "
            "Url” and paste it in the form below. The signing option “Sign SAML response and "
            "assertion” with SHA-256 works best.",
        ),
    ),
    attributes=(
        SentAttribute("email", _CLAIMS + "emailaddress", "user.mail", True),
        SentAttribute("given_name", _CLAIMS + "givenname", "user.givenname", True),
        SentAttribute("family_name", _CLAIMS + "surname", "user.surname", True),
        SentAttribute(
            "display_name",
            "http://schemas.microsoft.com/identity/claims/displayname",
            "user.displayname",
            True,
        ),
        SentAttribute("department", _MS_CLAIMS + "department", "user.department", False),
        SentAttribute("groups", _MS_CLAIMS + "groups", "group object ids", False),
    ),
    bring_back="The App Federation Metadata Url (SAML Certificates).",
)

GOOGLE = Guide(
    idp="google",
    protocol="saml",
    name="Google Workspace",
    preset="google",
    steps=(
        Step(
            "Add a custom SAML app",
            "Google Admin console → Apps → Web and mobile apps → Add app → Add custom SAML app",
            "Name the app, then Continue.",
        ),
        Step(
            "Download the IdP metadata",
            "Google Identity Provider details",
            "Choose “Download metadata” (Option 1) and keep the file: you upload it in the "
            "form below. Continue.",
        ),
        Step(
            "Service provider details",
            "Service provider details",
            "Paste these values. Name ID format: EMAIL; Name ID: Basic Information → "
            "Primary email. Leave “Signed response” as you like: Propylon checks either.",
            (
                Paste("acs_url", "ACS URL"),
                Paste("sp_entity_id", "Entity ID"),
            ),
        ),
        Step(
            "Attribute mapping",
            "Attributes → Add mapping",
            "Map Primary email → email, First name → first_name, Last name → last_name, "
            "Department → department; under Group membership pick the groups to send as "
            "groups. Google sends no attribute until you map it.",
        ),
        Step(
            "Turn the app on",
            "The app → User access",
            "Set the service status to ON for everyone, or for the organisational units or "
            "groups who sign in this way (changes can take a few minutes).",
        ),
    ),
    attributes=(
        SentAttribute("email", "email", "Primary email", False),
        SentAttribute("given_name", "first_name", "First name", False),
        SentAttribute("family_name", "last_name", "Last name", False),
        SentAttribute("department", "department", "Department", False),
        SentAttribute("groups", "groups", "Group membership", False),
    ),
    bring_back="The metadata file (GoogleIDPMetadata.xml) you downloaded.",
    metadata_by_url=False,
)

ONELOGIN = Guide(
    idp="onelogin",
    protocol="saml",
    name="OneLogin",
    preset="generic",
    steps=(
        Step(
            "Add the connector",
            "OneLogin Administration → Applications → Add App",
            "Search for “SAML Custom Connector (Advanced)”, name it and Save.",
        ),
        Step(
            "Configuration",
            "The app → Configuration",
            "Paste these values. For “ACS (Consumer) URL Validator” paste the ACS URL too "
            "(it is a regular expression: a literal URL matches itself). SAML signature "
            "element: Both. SAML signature algorithm: SHA-256.",
            (
                Paste("sp_entity_id", "Audience (EntityID)"),
                Paste("acs_url", "Recipient"),
                Paste("acs_url", "ACS (Consumer) URL"),
                Paste("slo_url", "Single Logout URL"),
            ),
        ),
        Step(
            "Parameters",
            "The app → Parameters → Add parameter",
            "Add email (value: Email), firstName (First Name), lastName (Last Name), "
            "department (Department) and groups (User Roles, multi-value), each with "
            "“Include in SAML assertion” ticked.",
        ),
        Step(
            "Assign people and copy the metadata URL",
            "Users → the user → Applications; then the app → SSO",
            "Give the app to the people who sign in this way. On the SSO tab copy the "
            "“Issuer URL” (the metadata URL) and paste it in the form below.",
        ),
    ),
    attributes=(
        SentAttribute("email", "email", "Email", False),
        SentAttribute("given_name", "firstName", "First Name", False),
        SentAttribute("family_name", "lastName", "Last Name", False),
        SentAttribute("department", "department", "Department", False),
        SentAttribute("groups", "groups", "User Roles", False),
    ),
    bring_back="The Issuer URL (SSO tab), which is the app's metadata URL.",
)

JUMPCLOUD = Guide(
    idp="jumpcloud",
    protocol="saml",
    name="JumpCloud",
    preset="generic",
    steps=(
        Step(
            "Add a custom SAML application",
            "JumpCloud Admin Portal → SSO Applications → Add New Application → Custom Application",
            "Choose “Manage Single Sign-On (SSO)” and “Configure SSO with SAML”, name it.",
        ),
        Step(
            "SSO settings",
            "The application → SSO tab",
            "Choose an IdP Entity ID (any unique name). Paste these values. SAMLSubject "
            "NameID: email; Signature algorithm: RSA-SHA256; sign the assertion.",
            (
                Paste("sp_entity_id", "SP Entity ID"),
                Paste("acs_url", "ACS URLs"),
                Paste("login_url", "Login URL"),
            ),
        ),
        Step(
            "Attributes",
            "SSO tab → Attributes → User Attributes / Group Attributes",
            "Add email = email, firstName = firstname, lastName = lastname, department = "
            "department; tick “include group attribute” and name it groups.",
        ),
        Step(
            "Give access and export the metadata",
            "The application → User Groups; then SSO tab → Export Metadata",
            "Bind the user groups who sign in this way, save, then “Export Metadata” and "
            "upload that file in the form below.",
        ),
    ),
    attributes=(
        SentAttribute("email", "email", "email", False),
        SentAttribute("given_name", "firstName", "firstname", False),
        SentAttribute("family_name", "lastName", "lastname", False),
        SentAttribute("department", "department", "department", False),
        SentAttribute("groups", "groups", "user group names", False),
    ),
    bring_back="The exported metadata file.",
    metadata_by_url=False,
)

GENERIC = Guide(
    idp="generic",
    protocol="saml",
    name="Another IdP",
    preset="generic",
    steps=(
        Step(
            "Create a SAML 2.0 application",
            "Your IdP's admin console → applications (service providers, relying parties)",
            "Add a SAML 2.0 service provider. If the IdP can read SP metadata, give it the "
            "SP metadata URL and skip the next step.",
            (Paste("sp_metadata_url", "SP metadata URL"),),
        ),
        Step(
            "Service provider values",
            "The application's SAML settings",
            "Paste these values. NameID: the person's email address. Send the Response "
            "with the HTTP-POST binding, signed (the Response, the assertion, or both). " + _SHA256,
            (
                Paste("acs_url", "Assertion Consumer Service URL (Reply URL)"),
                Paste("sp_entity_id", "SP entity ID (Audience)"),
                Paste("slo_url", "Single Logout URL (optional)"),
            ),
        ),
        Step(
            "Attributes",
            "The application's attribute (claim) settings",
            "Send email, givenName, sn (surname), department and groups. Common other names "
            "(mail, firstName, lastName, the urn:oid: names) are read too, and you can map "
            "your own names once the connection exists.",
        ),
        Step(
            "Bring back the IdP's metadata",
            "The application's metadata or federation settings",
            "Copy the IdP metadata URL, or download the metadata file; or note the IdP's "
            "entity ID, its SSO URL (HTTP-Redirect) and its signing certificate.",
        ),
    ),
    attributes=(
        SentAttribute("email", "email", "the email address", False),
        SentAttribute("given_name", "givenName", "the given name", False),
        SentAttribute("family_name", "sn", "the surname", False),
        SentAttribute("department", "department", "the department", False),
        SentAttribute("groups", "groups", "the group names", False),
    ),
    bring_back="The IdP metadata URL or file, or its entity ID, SSO URL and certificate.",
)

SAML_GUIDES: tuple[Guide, ...] = (OKTA, ENTRA, GOOGLE, ONELOGIN, JUMPCLOUD, GENERIC)
