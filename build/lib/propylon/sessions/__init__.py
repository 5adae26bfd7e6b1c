"""Server-side sign-in sessions (the OIDC ``sid``) and their browser cookie."""

from propylon.sessions.service import (
    COOKIE_NAME,
    ActiveSession,
    IssuedSession,
    PendingSession,
    SessionDraft,
    SessionRecord,
    check_active,
    session_id_for,
)
from propylon.sessions.store import SessionStore, create_session, load_active

__all__ = [
    "COOKIE_NAME",
    "ActiveSession",
    "IssuedSession",
    "PendingSession",
    "SessionDraft",
    "SessionRecord",
    "SessionStore",
    "check_active",
    "create_session",
    "load_active",
    "session_id_for",
]
