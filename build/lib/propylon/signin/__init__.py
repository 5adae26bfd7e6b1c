"""Sign-in orchestration: SAML SSO and SLO, who a login is, where an IdP-initiated login
lands. The session store it writes to is ``sessions/``."""
