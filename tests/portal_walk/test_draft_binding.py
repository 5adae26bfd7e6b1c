"""The draft connection id a guide's form carries is bound to the portal session that was
shown it (an HMAC of session and id): a browser cannot choose an id (another tenant's deleted
connection's, say), a draft of one session is refused in another, and the same draft sent
twice at once creates one connection and answers the other form "already exists" (400).
Live server, both backends."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlsplit

from propylon.admin import saml_connections as saml_ops
from propylon.admin.audited import CLI
from propylon.tenants.saml_connections import IdpSource
from tests.conftest import Server
from tests.portal.helpers import new_tenant, portal_browser
from tests.portal_walk.sso_helpers import csrf, draft_mac, guide, metadata_for
from tests.saml.idp import make_keypair

SSO = "https://idp.example.org/sso"
URL = "/portal/sso/saml/new?idp=generic"


async def test_a_browser_cannot_choose_the_connection_id(server: Server) -> None:
    mine, theirs = await new_tenant(server), await new_tenant(server)
    key = make_keypair("draft binding")
    # another tenant's connection, deleted: its id must not be taken over
    gone = await saml_ops.create_connection(
        server.rt,
        CLI,
        theirs.slug,
        IdpSource(sso_url=SSO, idp_entity_id="https://gone.example", certificates=(key.cert,)),
    )
    gone_id = gone["connection_id"]
    await saml_ops.delete_connection(server.rt, CLI, gone_id)
    by_hand = {"idp_entity_id": "https://d.example", "sso_url": SSO, "cert": key.cert_pem.decode()}
    async with portal_browser(server, mine.slug, ["sso"]) as client:
        html, draft = await guide(client, "saml", "generic")
        token = csrf(html)
        # the guide's address with a chosen id: a new id is picked instead
        chosen = await client.get(URL + f"&draft={gone_id}")
        assert chosen.status_code == 303
        picked = parse_qs(urlsplit(chosen.headers["location"]).query)
        assert picked["draft"][0] != gone_id and len(picked["key"][0]) == 64
        forged = await client.get(URL + f"&draft={gone_id}&key={'0' * 64}")
        assert forged.status_code == 303 and gone_id not in forged.headers["location"]
        # the form with a chosen id: refused, nothing created
        for mac in ("", "0" * 64, draft_mac(html)):
            form = {"csrf_token": token, "draft": gone_id, "draft_mac": mac, **by_hand}
            answer = await client.post(URL, data=form)
            assert answer.status_code == 400 and "not prepared in this session" in answer.text
        assert await saml_ops.list_connections(server.rt, mine.id) == []
    # a draft (with its proof) shown to one session is refused in another
    async with portal_browser(server, mine.slug, ["sso"]) as other:
        html2, _ = await guide(other, "saml", "generic")
        form = {"csrf_token": csrf(html2), "draft": draft, "draft_mac": draft_mac(html), **by_hand}
        answer = await other.post(URL, data=form)
        assert answer.status_code == 400 and "not prepared in this session" in answer.text
        assert await saml_ops.list_connections(server.rt, mine.id) == []


async def test_the_same_draft_sent_twice_at_once_is_created_once(server: Server) -> None:
    tenant = await new_tenant(server)
    key = make_keypair("draft race")
    async with portal_browser(server, tenant.slug, ["sso"]) as client:
        html, draft = await guide(client, "saml", "generic")
        form = {"csrf_token": csrf(html), "draft": draft, "draft_mac": draft_mac(html)}
        meta = metadata_for(key, "https://race.example.org", SSO)

        async def send() -> tuple[int, str]:
            files = {"metadata_file": ("idp.xml", meta, "text/xml")}
            answer = await client.post(URL, data=form, files=files)
            return answer.status_code, answer.text

        answers = sorted(await asyncio.gather(*(send() for _ in range(3))))
        assert [status for status, _ in answers] == [303, 400, 400], answers
        for _status, text in answers[1:]:
            assert "already" in text and 'role="alert"' in text
        connections = await saml_ops.list_connections(server.rt, tenant.id)
        assert [c["connection_id"] for c in connections] == [draft]
