"""Renderers of the delivery queue (``delivery/model.py Renderer``) for ``backchannel_logout``
and ``ssf`` items: the request is built at every attempt, signed with the provider's key
active at that moment (a rotation between attempts is honoured), and ``None`` when the
destination is gone (the app revoked or its logout URI removed; the stream deleted or
disabled)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from propylon.crypto.secretbox import SecretBox
from propylon.delivery.model import KIND_BACKCHANNEL_LOGOUT, KIND_SSF, QueuedDelivery, Rendered
from propylon.oauth_store.session_grants import backchannel_target
from propylon.oauth_store.signing_keys import SigningKeyCache
from propylon.provider import backchannel, secevent
from propylon.signals import streams


class StreamPaused(Exception):
    """The stream is paused: the SET is held (SSF §8.1.2), the attempt tried again later."""


class BackchannelLogoutRenderer:
    """A logout token POSTed to the app's ``backchannel_logout_uri`` (Back-Channel Logout 1.0
    §2.5), with a fresh ``jti``, ``iat`` and short ``exp`` at every attempt."""

    kind = KIND_BACKCHANNEL_LOGOUT

    def __init__(self, issuer: str, alg: str, lifetime: int, keys: SigningKeyCache) -> None:
        self.issuer = issuer.rstrip("/")
        self.alg = alg
        self.lifetime = lifetime
        self.keys = keys

    async def render(self, s: AsyncSession, item: QueuedDelivery, now: datetime) -> Rendered | None:
        client_id = item.payload.get("client_id", item.destination.split("#", 1)[0])
        sub, sid = item.payload.get("sub"), item.payload.get("sid")
        if not isinstance(client_id, str) or not isinstance(sub, str) or not isinstance(sid, str):
            return None
        uri = await backchannel_target(s, client_id)
        if uri is None:
            return None
        key = await self.keys.active(s, self.alg, now)
        token = backchannel.logout_token(
            key,
            issuer=self.issuer,
            client_id=client_id,
            sub=sub,
            sid=sid,
            now=int(now.timestamp()),
            lifetime=self.lifetime,
        )
        headers = {"content-type": backchannel.CONTENT_TYPE, "cache-control": "no-store"}
        return Rendered(uri, backchannel.logout_request_body(token), headers)


class SsfRenderer:
    """A SET pushed to the stream's endpoint (RFC 8935 §2), with the stream's
    ``authorization_header``; the ``jti`` stays that of the item (fixed when enqueued)."""

    kind = KIND_SSF

    def __init__(self, issuer: str, alg: str, keys: SigningKeyCache, box: SecretBox) -> None:
        self.issuer = issuer.rstrip("/")
        self.alg = alg
        self.keys = keys
        self.box = box

    async def render(self, s: AsyncSession, item: QueuedDelivery, now: datetime) -> Rendered | None:
        row = await streams.load(s, item.destination)
        if row is None or row.status == streams.DISABLED:
            return None
        p = item.payload
        event_type = p.get("event_type")
        always = event_type in (secevent.VERIFICATION, secevent.STREAM_UPDATED)
        if row.status == streams.PAUSED and not always:
            raise StreamPaused(row.id)
        if not isinstance(event_type, str) or not (
            always or event_type in streams.delivered(row.config)
        ):
            return None  # no longer requested
        key = await self.keys.active(s, self.alg, now)
        claims = secevent.set_claims(
            issuer=self.issuer,
            audience=list(row.config.get("aud") or [self.issuer]),
            jti=str(p.get("jti")),
            now=int(now.timestamp()),
            sub_id=dict(p.get("sub_id") or {}),
            event_type=event_type,
            event=dict(p.get("event") or {}),
            txn=p.get("txn") if isinstance(p.get("txn"), str) else None,
        )
        headers = {"content-type": secevent.CONTENT_TYPE, "accept": "application/json"}
        auth = streams.authorization(self.box, row)
        if auth is not None:
            headers["authorization"] = auth
        return Rendered(row.endpoint_url, secevent.sign(key, claims).encode(), headers)
