"""Outgoing mail over plain SMTP: the local sink in development, a relay in production."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, make_msgid


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str = "application"
    subtype: str = "pdf"


@dataclass(frozen=True)
class OutgoingMail:
    to: str
    subject: str
    text: str
    sender_name: str = ""
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)
    # Stable Message-ID for one logical message, so a relay can drop a resend.
    message_key: str = ""


class Mailer:
    def __init__(self, host: str, port: int, sender: str, timeout: float = 15.0) -> None:
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout

    def build(self, mail: OutgoingMail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = formataddr((mail.sender_name, self.sender)) if mail.sender_name else self.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        domain = self.sender.rsplit("@", 1)[-1]
        message["Message-ID"] = (
            f"<{mail.message_key.replace(':', '.')}@{domain}>"
            if mail.message_key
            else make_msgid(domain=domain)
        )
        message.set_content(mail.text)
        for attachment in mail.attachments:
            message.add_attachment(
                attachment.content,
                maintype=attachment.maintype,
                subtype=attachment.subtype,
                filename=attachment.filename,
            )
        return message

    async def send(self, mail: OutgoingMail, accepted: Callable[[], Awaitable[None]] | None = None) -> None:
        """Sends one message. `accepted` runs as soon as the server has taken it, before the goodbye, so
        the caller can record the send with the smallest possible window for a crash in between."""
        message = self.build(mail)
        client = await asyncio.to_thread(self._deliver, message)
        try:
            if accepted is not None:
                await accepted()
        finally:
            await asyncio.to_thread(self._quit, client)

    def _deliver(self, message: EmailMessage) -> smtplib.SMTP:
        client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            client.send_message(message)
        except BaseException:
            self._quit(client)
            raise
        return client

    @staticmethod
    def _quit(client: smtplib.SMTP) -> None:
        try:
            client.quit()
        except smtplib.SMTPException:
            client.close()
