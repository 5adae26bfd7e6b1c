"""``propylon demo``: a first sign-in by SSO with no account anywhere.

``seed.py`` makes (idempotently, through the service layers) a demo tenant wired to the
built-in test IdP, a SCIM directory with a few people and groups, a role catalogue and rules,
an app and an API key for the demo host; ``state.py`` keeps what the host needs (its
credentials, the directory's SCIM token) in an owner-only file of the data directory;
``host.py`` is the demo host platform served under ``/demo``: it signs in through
Propylon's OpenID Provider (authorization code + PKCE) and reads roles through the SDK, over
HTTP only, as a separate application would, and plays the IdP's part by moving the signed-in
person between groups over SCIM."""
