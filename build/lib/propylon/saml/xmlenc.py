"""``EncryptedAssertion`` decryption (SAML Core §2.3.4, XML Encryption 1.1).

Supported, with the SP's RSA private key and ``cryptography`` only:

* key transport: RSA-OAEP (``xmlenc#rsa-oaep-mgf1p`` and ``xmlenc11#rsa-oaep``
  with SHA-1/SHA-2 digests and MGF1 variants, XML-Enc 1.1 §5.5.2);
  RSA PKCS#1 v1.5 (``xmlenc#rsa-1_5``) only when explicitly allowed, because of
  Bleichenbacher-style oracles (XML-Enc 1.1 §5.5.1 security note);
* content: AES-CBC (XML-Enc §5.2.2, with its ISO 10126-style padding) and
  AES-GCM (XML-Enc 1.1 §5.2.4); TripleDES-CBC (§5.2.1, pysaml2's default) only
  when explicitly allowed.

Decryption is not authentication: the decrypted Assertion must still be covered
by a verified signature (checked by the caller).
"""

from __future__ import annotations

import base64
import binascii
from typing import Final

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from lxml import etree

from .errors import Reason, SamlValidationError
from .xml import DS, XENC

__all__ = ["decrypt_encrypted_assertion"]

XENC11: Final = "http://www.w3.org/2009/xmlenc11#"
_CBC: Final = {f"{XENC}aes128-cbc": 16, f"{XENC}aes192-cbc": 24, f"{XENC}aes256-cbc": 32}
TRIPLEDES: Final = f"{XENC}tripledes-cbc"
_GCM: Final = {f"{XENC11}aes128-gcm": 16, f"{XENC11}aes192-gcm": 24, f"{XENC11}aes256-gcm": 32}
_OAEP_MGF1P: Final = f"{XENC}rsa-oaep-mgf1p"
_OAEP11: Final = f"{XENC11}rsa-oaep"
_RSA15: Final = f"{XENC}rsa-1_5"
_HASHES: Final[dict[str, type[hashes.HashAlgorithm]]] = {
    "http://www.w3.org/2000/09/xmldsig#sha1": hashes.SHA1,
    "http://www.w3.org/2001/04/xmlenc#sha256": hashes.SHA256,
    "http://www.w3.org/2001/04/xmldsig-more#sha384": hashes.SHA384,
    "http://www.w3.org/2001/04/xmlenc#sha512": hashes.SHA512,
}
_MGFS: Final[dict[str, type[hashes.HashAlgorithm]]] = {
    f"{XENC11}mgf1sha1": hashes.SHA1,
    f"{XENC11}mgf1sha256": hashes.SHA256,
    f"{XENC11}mgf1sha384": hashes.SHA384,
    f"{XENC11}mgf1sha512": hashes.SHA512,
}


def _fail(detail: str) -> SamlValidationError:
    return SamlValidationError(Reason.DECRYPTION_FAILED, detail)


def _unsupported(alg: str | None) -> SamlValidationError:
    return SamlValidationError(Reason.UNSUPPORTED_ENCRYPTION_ALGORITHM, repr(alg))


def _cipher_value(el: etree._Element) -> bytes:
    cv = el.find(f"{{{XENC}}}CipherData/{{{XENC}}}CipherValue")
    if cv is None or not cv.text:
        raise _fail("CipherValue missing (CipherReference is not supported)")
    try:
        return base64.b64decode("".join(cv.text.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _fail("CipherValue not base64") from exc


def _oaep(method: etree._Element) -> padding.OAEP:
    alg = method.get("Algorithm")
    dm = method.find(f"{{{DS}}}DigestMethod")
    digest: type[hashes.HashAlgorithm] | None = (
        hashes.SHA1 if dm is None else _HASHES.get(dm.get("Algorithm") or "")
    )
    mgf: type[hashes.HashAlgorithm] = hashes.SHA1
    if alg == _OAEP11:
        mgf_el = method.find(f"{{{XENC11}}}MGF")
        if mgf_el is not None:
            found = _MGFS.get(mgf_el.get("Algorithm") or "")
            if found is None:
                raise _unsupported(mgf_el.get("Algorithm"))
            mgf = found
    if digest is None:
        raise _unsupported(dm.get("Algorithm") if dm is not None else None)
    label_el = method.find(f"{{{XENC}}}OAEPparams")
    label = None
    if label_el is not None and label_el.text:
        label = base64.b64decode("".join(label_el.text.split()))
    return padding.OAEP(mgf=padding.MGF1(mgf()), algorithm=digest(), label=label)


def _unwrap_key(
    ek: etree._Element, key: rsa.RSAPrivateKey, allow_rsa1_5: bool, key_len: int
) -> bytes:
    method = ek.find(f"{{{XENC}}}EncryptionMethod")
    alg = method.get("Algorithm") if method is not None else None
    wrapped = _cipher_value(ek)
    if method is not None and alg in (_OAEP_MGF1P, _OAEP11):
        try:
            cek = key.decrypt(wrapped, _oaep(method))
        except ValueError as exc:
            raise _fail("key transport decryption failed") from exc
    elif alg == _RSA15:
        if not allow_rsa1_5:
            raise SamlValidationError(
                Reason.UNSUPPORTED_ENCRYPTION_ALGORITHM, "rsa-1_5 key transport refused"
            )
        try:
            cek = key.decrypt(wrapped, padding.PKCS1v15())
        except ValueError as exc:
            raise _fail("key transport decryption failed") from exc
    else:
        raise _unsupported(alg)
    if len(cek) != key_len:
        raise _fail("content key has the wrong length")
    return cek


def _encrypted_keys(enc_assertion: etree._Element, data: etree._Element) -> list[etree._Element]:
    found = data.findall(f"{{{DS}}}KeyInfo/{{{XENC}}}EncryptedKey")
    # SAML Core §2.3.4: EncryptedKey may also be a sibling of EncryptedData.
    found += enc_assertion.findall(f"{{{XENC}}}EncryptedKey")
    return found


def _decrypt_content(alg: str, cek: bytes, blob: bytes) -> bytes:
    if alg in _GCM:
        if len(blob) < 12 + 16:
            raise _fail("ciphertext too short")
        try:
            return AESGCM(cek).decrypt(blob[:12], blob[12:], None)
        except Exception as exc:  # cryptography raises InvalidTag
            raise _fail("AES-GCM authentication failed") from exc
    block = 8 if alg == TRIPLEDES else 16
    if len(blob) < 2 * block or len(blob) % block:
        raise _fail("bad CBC ciphertext length")
    cipher = TripleDES(cek) if alg == TRIPLEDES else algorithms.AES(cek)
    decryptor = Cipher(cipher, modes.CBC(blob[:block])).decryptor()
    padded = decryptor.update(blob[block:]) + decryptor.finalize()
    pad = padded[-1]
    if not 1 <= pad <= block:  # XML-Enc §5.2: last octet is the padding length
        raise _fail("bad CBC padding")
    return padded[:-pad]


def decrypt_encrypted_assertion(
    enc_assertion: etree._Element,
    key: rsa.RSAPrivateKey | None,
    *,
    allow_rsa1_5: bool,
    allow_tripledes: bool = False,
) -> bytes:
    """Return the plaintext (the serialized ``saml:Assertion``) of ``enc_assertion``."""
    if key is None:
        raise SamlValidationError(Reason.DECRYPTION_KEY_MISSING, "EncryptedAssertion received")
    data = enc_assertion.find(f"{{{XENC}}}EncryptedData")
    if data is None:
        raise _fail("EncryptedData missing")
    if data.get("Type") not in (None, f"{XENC}Element"):
        raise _fail(f"EncryptedData Type {data.get('Type')!r}")
    method = data.find(f"{{{XENC}}}EncryptionMethod")
    alg = method.get("Algorithm") if method is not None else None
    if alg == TRIPLEDES and allow_tripledes:
        key_len = 24
    elif alg is not None and (alg in _CBC or alg in _GCM):
        key_len = _CBC.get(alg) or _GCM[alg]
    else:
        raise _unsupported(alg)
    blob = _cipher_value(data)
    eks = _encrypted_keys(enc_assertion, data)
    if not eks:
        raise _fail("no EncryptedKey")
    last: SamlValidationError | None = None
    for ek in eks:
        try:
            cek = _unwrap_key(ek, key, allow_rsa1_5, key_len)
        except SamlValidationError as exc:
            if exc.reason is Reason.UNSUPPORTED_ENCRYPTION_ALGORITHM:
                raise
            last = exc
            continue
        return _decrypt_content(alg, cek, blob)
    assert last is not None
    raise last
