"""Security Event Tokens (RFC 8417) of the Shared Signals Framework 1.0 transmitter, with
the CAEP 1.0 event types Propylon sends. Pure builders: the delivery worker signs a SET at
every attempt with the provider's active key.

- RFC 8417 §2.2: ``iss``, ``iat``, ``jti``, ``aud``, ``events`` (one event type URI per SET,
  SSF 1.0 §4.1.8), optional ``txn`` (here the Propylon event id the SET reports, the same in
  every SET and every attempt born from it); no ``exp`` and no ``sub`` (RFC 8417 §2.2, §4.2,
  SSF §4.1.9: the subject is the ``sub_id`` claim, RFC 9493 subject identifiers).
- RFC 8417 §2.3, SSF §4.1.9: header ``typ: secevent+jwt`` (explicit typing), signed like ID
  tokens (``kid`` of the provider's JWK Set, the ``jwks_uri`` of the transmitter metadata).
- RFC 8935 §2: delivered as the body of a POST with ``Content-Type: application/secevent+jwt``
  and ``Accept: application/json``; the receiver answers 202.
- CAEP 1.0 §3.1 ``session-revoked`` (``event_timestamp``, ``initiating_entity``,
  ``reason_admin``), §3.2 ``token-claims-change`` (``claims``: the new values),
  SSF §8.1.4.1 ``verification`` (``state``), SSF §8.1.5 ``stream-updated`` (``status``).
"""

from __future__ import annotations

from typing import Any

from joserfc import jwt

from propylon.oauth_store.signing_keys import SigningMaterial

TYP = "secevent+jwt"
CONTENT_TYPE = "application/secevent+jwt"
PUSH = "urn:ietf:rfc:8935"
"""The push delivery method (SSF §6.1.1)."""
CAEP = "https://schemas.openid.net/secevent/caep/event-type/"
SSF = "https://schemas.openid.net/secevent/ssf/event-type/"
SESSION_REVOKED = CAEP + "session-revoked"
TOKEN_CLAIMS_CHANGE = CAEP + "token-claims-change"
VERIFICATION = SSF + "verification"
STREAM_UPDATED = SSF + "stream-updated"
EVENTS_SUPPORTED = (SESSION_REVOKED, TOKEN_CLAIMS_CHANGE)
"""What a stream may request (verification and stream-updated are always delivered)."""
INITIATING_ENTITIES = frozenset({"admin", "user", "policy", "system"})


def opaque(value: str) -> dict[str, str]:
    """RFC 9493 §3.2.4 ``opaque`` subject identifier."""
    return {"format": "opaque", "id": value}


def iss_sub(issuer: str, sub: str) -> dict[str, str]:
    """RFC 9493 §3.2.5 ``iss_sub``: the user as ``sub`` of Propylon's ID tokens."""
    return {"format": "iss_sub", "iss": issuer, "sub": sub}


def subject(
    issuer: str, *, tenant_id: str, user_id: str | None = None, sid: str | None = None
) -> dict[str, Any]:
    """A ``complex`` subject (SSF §3.2, the members ``tenant``, ``user``, ``session``)."""
    out: dict[str, Any] = {"format": "complex", "tenant": opaque(tenant_id)}
    if user_id is not None:
        out["user"] = iss_sub(issuer, user_id)
    if sid is not None:
        out["session"] = opaque(sid)
    return out


def session_revoked(*, event_timestamp: int, initiating_entity: str, reason: str) -> dict[str, Any]:
    """CAEP §3.1 ``session-revoked``."""
    entity = initiating_entity if initiating_entity in INITIATING_ENTITIES else "system"
    return {
        "event_timestamp": event_timestamp,
        "initiating_entity": entity,
        "reason_admin": {"en": reason},
    }


def token_claims_change(*, event_timestamp: int, claims: dict[str, Any]) -> dict[str, Any]:
    """CAEP §3.2 ``token-claims-change``: ``claims`` holds the claims' new values."""
    return {"event_timestamp": event_timestamp, "claims": claims}


def set_claims(
    *,
    issuer: str,
    audience: list[str],
    jti: str,
    now: int,
    sub_id: dict[str, Any],
    event_type: str,
    event: dict[str, Any],
    txn: str | None = None,
) -> dict[str, Any]:
    """The claims of one SET (RFC 8417 §2.2)."""
    claims: dict[str, Any] = {
        "iss": issuer,
        "iat": now,
        "jti": jti,
        "aud": audience[0] if len(audience) == 1 else audience,
        "sub_id": sub_id,
        "events": {event_type: event},
    }
    if txn is not None:
        claims["txn"] = txn
    return claims


def sign(key: SigningMaterial, claims: dict[str, Any]) -> str:
    """The signed SET (RFC 8417 §2.3, ``typ: secevent+jwt``)."""
    header = {"alg": key.alg, "kid": key.kid, "typ": TYP}
    return jwt.encode(header, claims, key.private, [key.alg])
