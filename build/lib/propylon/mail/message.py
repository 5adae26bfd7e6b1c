"""A mail message (RFC 5322, built with the standard library's ``email`` package) and the
protocol every way of sending one implements."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Protocol


@dataclass(frozen=True)
class OutgoingMail:
    to: str
    subject: str
    body: str
    """Plain text (a link is a line of its own, so every client shows it whole)."""


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None:
        """Deliver ``message``, or raise; never logs its body (it carries links that sign in)."""
        ...


def build_message(mail: OutgoingMail, sender: str) -> EmailMessage:
    """RFC 5322 §3.6: From, To, Subject, Date and a unique Message-ID; UTF-8 text body."""
    if any(c in mail.to + mail.subject for c in "\r\n\0"):
        raise ValueError("a header value may not contain a line break")
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or None)
    msg.set_content(mail.body)
    return msg
