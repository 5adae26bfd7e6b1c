"""Outgoing mail: one :class:`Mailer` protocol, the embedded default that writes each message
to a file in the data directory (:mod:`propylon.mail.files`), and SMTP
(:mod:`propylon.mail.smtp`), chosen by settings in :func:`mailer_from`."""

from __future__ import annotations

from propylon.mail.files import FileMailer
from propylon.mail.message import Mailer, OutgoingMail, build_message
from propylon.mail.smtp import SmtpMailer
from propylon.settings import Settings

__all__ = ["FileMailer", "Mailer", "OutgoingMail", "SmtpMailer", "build_message", "mailer_from"]


def mailer_from(settings: Settings) -> Mailer:
    """SMTP when ``PROPYLON_SMTP_HOST`` is set, else files under ``<data_dir>/mail``."""
    if settings.smtp_host:
        return SmtpMailer(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value(),
            starttls=settings.smtp_starttls,
            timeout=settings.smtp_timeout_seconds,
        )
    return FileMailer(settings.data_dir / "mail")
