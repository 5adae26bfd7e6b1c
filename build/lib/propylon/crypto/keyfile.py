"""Where the key-encryption key comes from: ``PROPYLON_SECRET_KEY``, else a key file in the
data directory, created on first start with owner-only permissions.

The file holds one base64url key; it is created beside a private temporary file and linked
into place (``link`` fails if the name exists), so processes starting together agree on one
key and none reads a half-written file. A key file or data directory found with looser
permissions is tightened (owner-only: 0600 / 0700) on every start. Keep the key file out of
database backups: the database alone must not yield the keys it stores.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from propylon.crypto.secretbox import SecretBox, new_key_text, parse_key, parse_keys
from propylon.errors import PropylonError
from propylon.owner_only import FILE_MODE, secure_dir, tighten

KEY_FILE = "secret.key"


class SecretKeyMisconfigured(PropylonError):
    """``PROPYLON_SECRET_KEY`` or the key file does not hold usable keys (the message names
    where, never the value)."""


def _create_key_file(path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(new_key_text() + "\n")
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):  # another process was first: use its key
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_key_file(path: Path) -> bytes:
    """The key in ``path``, created first if there is none."""
    if not path.exists():
        _create_key_file(path)
    tighten(path, FILE_MODE)
    try:
        return parse_key(path.read_text())
    except ValueError as exc:
        raise SecretKeyMisconfigured(f"{path}: {exc}") from None


def load_secret_box(secret_key: str, data_dir: Path) -> SecretBox:
    """The secret box of ``PROPYLON_SECRET_KEY`` (comma-separated keys, the first sealing),
    or, when that is empty, of the key file in ``data_dir``."""
    if secret_key.strip():
        try:
            return SecretBox(parse_keys(secret_key))
        except ValueError as exc:
            raise SecretKeyMisconfigured(f"PROPYLON_SECRET_KEY: {exc}") from None
    secure_dir(data_dir)
    return SecretBox([read_key_file(data_dir / KEY_FILE)])
