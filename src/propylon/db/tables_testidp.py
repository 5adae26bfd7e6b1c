"""The built-in test IdP's signing keys (``testidp/keys.py``): generated once per
installation, the private key sealed at rest, so every process signs with the same key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from propylon.db.tables import Base
from propylon.db.types import UTCDateTime


class TestIdpKey(Base):
    __test__ = False  # not a pytest class where a test imports it
    __tablename__ = "test_idp_keys"
    purpose: Mapped[str] = mapped_column(String(32), primary_key=True)
    """``saml`` (signs Responses; in the metadata) or ``oidc`` (signs ID tokens; in JWKS)."""
    private_key_pem: Mapped[str] = mapped_column(Text)
    """PKCS#8 PEM sealed by ``crypto/secretbox`` (purpose ``test-idp-key``, row: purpose)."""
    certificate_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
