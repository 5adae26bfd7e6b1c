"""Mail through an SMTP server (RFC 5321) with the standard library's ``smtplib``, run in a
worker thread so the event loop never waits on the network; STARTTLS (RFC 3207) before
authenticating when configured, and a server that does not offer it is refused."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage

import structlog

log = structlog.get_logger("propylon.mail")


class SmtpMailer:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str,
        password: str,
        starttls: bool,
        timeout: float,
    ) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._username, self._password, self._starttls = username, password, starttls

    async def send(self, message: EmailMessage) -> None:
        await asyncio.to_thread(self._send, message)
        log.info("mail sent", to=message["To"], subject=message["Subject"], host=self.host)

    def _send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.ehlo()
            if self._starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if self._username:
                smtp.login(self._username, self._password)
            smtp.send_message(message)
