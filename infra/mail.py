"""Outgoing mail over plain SMTP: the local sink in development, a relay in production."""

from __future__ import annotations

import asyncio
import re
import smtplib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email import policy
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.utils import formataddr, formatdate, getaddresses, make_msgid

# Line breaks and other control characters in a header would end it and start another: a town named
# "Town<CR><LF>Bcc: ..." must not add a recipient, nor make the message impossible to build.
HEADER_BREAKERS = re.compile(r"[\x00-\x1f\x7f]+")


class _HeaderClasses(HeaderRegistry):
    """The standard library makes a new class each time it stores a header (a fifth of building a message);
    one class per header name does the same work."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        if (made := self._made.get(key)) is None:
            made = self._made[key] = super().__getitem__(name)
        return made


# The standard library's default policy (what EmailMessage uses), with the header classes kept.
MESSAGE_POLICY = policy.default.clone(header_factory=_HeaderClasses())


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


def header_text(text: str) -> str:
    """One line of header text, whatever the town or the translation put in it."""
    return HEADER_BREAKERS.sub(" ", text).strip()


class BadRecipient(ValueError):
    """The address cannot be mailed as it is; sending it again will not help."""


def single_recipient(to: str) -> str:
    """Exactly one address: `a@x,b@y` or `Name <a@x>, b@y` would be mailed to both. Addresses are checked
    where people type them; this is the last line, for one that got past."""
    found = getaddresses([to])
    if len(found) != 1 or not found[0][1] or "@" not in found[0][1] or HEADER_BREAKERS.search(to):
        raise BadRecipient("a message goes to exactly one valid address")
    return to


class Mailer:
    def __init__(self, host: str, port: int, sender: str, timeout: float = 15.0) -> None:
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout

    def build(self, mail: OutgoingMail) -> EmailMessage:
        message = EmailMessage(policy=MESSAGE_POLICY)
        sender_name = header_text(mail.sender_name)
        message["From"] = formataddr((sender_name, self.sender)) if sender_name else self.sender
        message["To"] = single_recipient(mail.to)
        message["Subject"] = header_text(mail.subject)
        message["Date"] = formatdate(localtime=False, usegmt=True)
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
