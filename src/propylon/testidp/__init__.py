"""A development SAML IdP and OpenID Provider inside Propylon (``/test-idp/…``): off unless
``PROPYLON_TEST_IDP_ENABLED``, refused in production mode (PostgreSQL configured) unless
``PROPYLON_TEST_IDP_FORCE``, signing with its own clearly marked test keys. A person picks or
types a test user and groups and a scenario (success, an error response, an expired
assertion, a user of another domain, a wrong audience, no email, SHA-1, an unknown key, a
skewed clock), so the portal's test connection and its stages can be seen with no real IdP."""
