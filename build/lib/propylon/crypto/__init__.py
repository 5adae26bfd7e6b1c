"""Cryptography Propylon applies to what it stores: :mod:`~propylon.crypto.secretbox` seals
private keys and secrets at rest under the key-encryption key, which
:mod:`~propylon.crypto.keyfile` reads from settings or from the data directory."""
