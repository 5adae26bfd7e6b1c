"""The secret box's rules, in-process: a sealed value opens only for its purpose and row,
under a configured key, unaltered; several keys rotate; subkeys are independent per label;
no message or repr carries key material."""

from __future__ import annotations

import pytest

from propylon.crypto.secretbox import (
    CLIENT_SECRET,
    SAML_SP_KEY,
    SIGNING_KEY,
    SecretBox,
    SecretBoxError,
    key_id_of,
    new_key_text,
    open_client_secret,
    parse_key,
    parse_keys,
    seal_client_secret,
)


def box(*texts: str) -> SecretBox:
    return SecretBox(parse_keys(",".join(texts)))


def test_a_sealed_value_opens_only_for_its_purpose_and_row_unaltered() -> None:
    b = box(new_key_text())
    sealed = b.seal(b"private key bytes", SAML_SP_KEY, "conn_a")
    assert b"private key bytes".hex() not in sealed and "private" not in sealed
    assert b.open(sealed, SAML_SP_KEY, "conn_a") == b"private key bytes"
    assert b.seal(b"private key bytes", SAML_SP_KEY, "conn_a") != sealed  # a fresh nonce
    for purpose, row in ((SAML_SP_KEY, "conn_b"), (SIGNING_KEY, "conn_a")):
        with pytest.raises(SecretBoxError):
            b.open(sealed, purpose, row)
    head, body = sealed.rsplit(".", 1)
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with pytest.raises(SecretBoxError):
        b.open(f"{head}.{flipped}", SAML_SP_KEY, "conn_a")
    with pytest.raises(SecretBoxError):
        box(new_key_text()).open(sealed, SAML_SP_KEY, "conn_a")


def test_the_first_key_seals_and_every_listed_key_opens() -> None:
    old, new = new_key_text(), new_key_text()
    before = box(old).seal_text("s3cret", CLIENT_SECRET, "idp_1")
    during = box(new, old)
    assert during.open_text(before, CLIENT_SECRET, "idp_1") == "s3cret"
    assert during.needs_reseal(before) and during.needs_reseal("-----BEGIN PRIVATE KEY-----")
    after = during.reseal(before, CLIENT_SECRET, "idp_1")
    assert key_id_of(after) == box(new).key_id != key_id_of(before)
    assert not during.needs_reseal(after)
    assert open_client_secret(box(new), "idp_1", after) == "s3cret"
    assert open_client_secret(during, "idp", seal_client_secret(during, "idp", "x")) == "x"


def test_subkeys_are_independent_per_label_and_follow_the_key_list() -> None:
    old, new = new_key_text(), new_key_text()
    b = box(new, old)
    cookie = b.subkey("pending-sign-in-cookie")
    assert len(cookie) == 32 and cookie == box(new).subkey("pending-sign-in-cookie")
    assert cookie != b.subkey("another-purpose")
    assert cookie not in (parse_key(new), parse_key(old))
    previous = box(old).subkey("pending-sign-in-cookie")
    assert b.subkeys("pending-sign-in-cookie") == [cookie, previous]


def test_no_message_or_repr_carries_key_material() -> None:
    text = new_key_text()
    b = box(text)
    assert text not in repr(b) and b.key_id in repr(b)
    for bad in (text[:-4], text + "AAAA", "not base64 !!"):
        with pytest.raises(ValueError) as caught:
            parse_key(bad)
        assert bad not in str(caught.value)
    with pytest.raises(SecretBoxError) as unknown:
        box(new_key_text()).open(b.seal(b"x", SIGNING_KEY, "kid"), SIGNING_KEY, "kid")
    assert b.key_id in str(unknown.value) and text not in str(unknown.value)
