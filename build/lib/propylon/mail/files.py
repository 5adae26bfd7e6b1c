"""The embedded mailer: each message is written whole to ``<dir>/<timestamp>-<id>.eml``
(owner-only, as it carries links that sign in) and logged by recipient and subject only."""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from email.message import EmailMessage
from pathlib import Path

import structlog

from propylon.owner_only import FILE_MODE, secure_dir

log = structlog.get_logger("propylon.mail")


def _write(path: Path, data: bytes) -> None:
    secure_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


class FileMailer:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def send(self, message: EmailMessage) -> None:
        name = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{secrets.token_hex(6)}.eml"
        path = self.directory / name
        await asyncio.to_thread(_write, path, message.as_bytes())
        log.info("mail written", to=message["To"], subject=message["Subject"], file=str(path))
