"""https through the guard: the connection goes to the checked address, and the
certificate is verified for the URL's host name (SNI and the check keep the name)."""

from __future__ import annotations

import ssl
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from propylon.outbound import OutboundError, OutboundPolicy, client, request
from tests.loopback_http import LoopbackHttp

POLICY = OutboundPolicy(allow_private=True, allow_http=False, timeout_seconds=5)


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: str,
    signer: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False
        )
    return builder.sign(signer, hashes.SHA256())


class Pki:
    """A test CA, and a server context whose certificate names ``host``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ca = _certificate("Test CA", self.ca_key, "Test CA", self.ca_key, ca=True)

    def trusting(self) -> ssl.SSLContext:
        return ssl.create_default_context(
            cadata=self.ca.public_bytes(serialization.Encoding.PEM).decode()
        )

    def server(self, host: str) -> ssl.SSLContext:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _certificate(host, key, "Test CA", self.ca_key, ca=False)
        path = self.directory / f"{host}.pem"
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            + cert.public_bytes(serialization.Encoding.PEM)
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(path)
        return context


@pytest.fixture
def pki(monkeypatch: pytest.MonkeyPatch) -> Iterator[Pki]:
    with tempfile.TemporaryDirectory() as directory:
        authority = Pki(Path(directory))
        monkeypatch.setattr(client, "_tls_context", authority.trusting)
        yield authority


def _serve(context: ssl.SSLContext) -> LoopbackHttp:
    return LoopbackHttp(lambda path: (200, {}, b"secure"), tls=context)


async def test_the_certificate_is_checked_for_the_name_not_the_address(pki: Pki) -> None:
    server = _serve(pki.server("localhost"))
    try:
        response = await request(POLICY, "GET", f"https://localhost:{server.port}/doc")
        assert response.body == b"secure"
        assert server.host_headers == [f"localhost:{server.port}"]
    finally:
        server.close()


@pytest.mark.parametrize("names", ["other.example", "127.0.0.1"])
async def test_a_certificate_for_another_name_is_refused(pki: Pki, names: str) -> None:
    server = _serve(pki.server(names))
    try:
        with pytest.raises(OutboundError) as caught:
            await request(POLICY, "GET", f"https://localhost:{server.port}/doc")
        assert caught.value.reason == "tls"
        assert server.requests == []
    finally:
        server.close()


async def test_a_certificate_from_an_untrusted_authority_is_refused() -> None:
    with tempfile.TemporaryDirectory() as directory:
        server = _serve(Pki(Path(directory)).server("localhost"))  # the process trusts the
        try:  # public authorities only, not this one
            with pytest.raises(OutboundError) as caught:
                await request(POLICY, "GET", f"https://localhost:{server.port}/doc")
            assert caught.value.reason == "tls"
        finally:
            server.close()
