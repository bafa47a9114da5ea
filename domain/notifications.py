"""The outbox that makes mail exactly-once from the citizen's point of view.

A row is written before sending and stamped the moment the SMTP server accepts the message; a retry that
finds the stamp does not send again. Only a crash inside that moment (between the server's "250 OK" and the
database write) can still resend; the stable Message-ID lets a relay or mail client drop such a copy.
"""

from __future__ import annotations

from datetime import UTC, datetime

from domain.requests import short_key
from domain.scope import TenantScope
from domain.tables import Notification
from infra.mail import Mailer, OutgoingMail


async def send_once(scope: TenantScope, key: str, mail: OutgoingMail, mailer: Mailer) -> bool:
    """Call it outside any transaction: the outbox row must be committed before the message is sent."""
    key = short_key(key, 120)
    async with scope.transaction():  # committed before the message leaves
        row = (
            await scope.select(Notification, Notification.id, Notification.sent_at)
            .where(Notification.key == key)
            .first()
        )
        if row and row["sent_at"]:
            return False
        if row is None:
            await Notification.raw(
                "INSERT INTO notification (tenant_id, key, recipient, subject) "
                "VALUES ({}, {}, {}, {}) ON CONFLICT (key) DO NOTHING",
                scope.tenant_id,
                key,
                mail.to,
                mail.subject[:300],
            )

    async def stamp() -> None:
        sent = {Notification.sent_at: datetime.now(UTC)}
        async with scope.transaction():
            await scope.update(Notification, sent).where(Notification.key == key)

    await mailer.send(mail, accepted=stamp)
    return True
