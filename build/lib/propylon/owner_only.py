"""Owner-only files and directories: the data directory (0700), the embedded database and
the secret key file (0600). Created so, and tightened on every start if found looser (a
directory or file another user owns is left to its owner)."""

from __future__ import annotations

import contextlib
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def tighten(path: Path, mode: int) -> None:
    """Remove every permission beyond ``mode`` from ``path``, if it exists."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if current & ~mode:
        with contextlib.suppress(PermissionError):
            path.chmod(current & mode)


def secure_dir(path: Path) -> None:
    """Create ``path`` owner-only, or tighten it to owner-only if it exists."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    tighten(path, DIR_MODE)
