"""Parsed SAML key material, per process (on the runtime).

Loading a PEM RSA key re-checks the key, which costs tens of milliseconds (it was half of an
ACS request's CPU); parsing a connection's pinned IdP certificates costs less but happens on
every ACS and SLO request. Both are kept here, keyed by their stored value: a key rotation or
a metadata refresh stores new PEMs, which are new entries, so an entry is never stale and a
certificate an IdP dropped is no longer trusted from the next request on.

SP keys are stored sealed (:mod:`propylon.crypto.secretbox`, bound to their connection): the
cache opens each with the runtime's secret box once, keyed by connection and stored value.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import rsa

from propylon.crypto.secretbox import SecretBox
from propylon.saml import IdpTrust
from propylon.tenants.saml_connections import ConnectionRecord, open_sp_key
from propylon.tenants.saml_keys import load_certificates, load_private_key

MAX_ENTRIES = 512


class SamlKeyCache:
    def __init__(self, box: SecretBox, max_entries: int = MAX_ENTRIES) -> None:
        self.box = box
        self.max_entries = max_entries
        self._keys: dict[tuple[str, str], rsa.RSAPrivateKey] = {}
        self._trust: dict[tuple[str, tuple[str, ...]], IdpTrust] = {}

    def private_key(self, conn: ConnectionRecord) -> rsa.RSAPrivateKey:
        """The connection's SP key."""
        by_value = (conn.id, conn.sp_private_key_sealed)
        key = self._keys.get(by_value)
        if key is None:
            if len(self._keys) >= self.max_entries:
                self._keys.clear()
            pem = open_sp_key(self.box, conn.id, conn.sp_private_key_sealed)
            key = self._keys[by_value] = load_private_key(pem)
        return key

    def trust(self, conn: ConnectionRecord) -> IdpTrust:
        """The IdP's entity id and pinned certificates, as the connection stores them now."""
        by_value = (conn.idp_entity_id, conn.idp_certificate_pems)
        trust = self._trust.get(by_value)
        if trust is None:
            if len(self._trust) >= self.max_entries:
                self._trust.clear()
            certificates = load_certificates(list(conn.idp_certificate_pems))
            trust = self._trust[by_value] = IdpTrust(conn.idp_entity_id, certificates)
        return trust
