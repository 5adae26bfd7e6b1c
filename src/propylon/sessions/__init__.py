"""Server-side sign-in sessions (the OIDC ``sid``) and their browser cookie."""

from propylon.sessions.service import (
    COOKIE_NAME,
    ActiveSession,
    IssuedSession,
    create_session,
    end_session,
    end_sessions_for,
    load_active,
    session_id_for,
)

__all__ = [
    "COOKIE_NAME",
    "ActiveSession",
    "IssuedSession",
    "create_session",
    "end_session",
    "end_sessions_for",
    "load_active",
    "session_id_for",
]
