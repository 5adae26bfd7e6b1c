"""Operators of the console at ``/admin``: accounts (email, argon2id password, TOTP secret
sealed at rest: ``accounts.py``), one-time passwords per RFC 6238 (``rfc6238.py``, pure) and
the console's server-side sessions with revocation (``console_sessions.py``)."""
