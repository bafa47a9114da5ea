"""The outbox that makes mail exactly-once from the citizen's point of view.

A row is written before sending and stamped the moment the SMTP server accepts the message; a retry that
finds the stamp does not send again. The stamp is retried while the database is away (a restart, a dropped
connection): failing the activity there would make its retry send a second copy. Only a crash of the
worker inside that moment (between the server's "250 OK" and the database write) can still resend: the
sender cannot learn of the acceptance any other way. The stable Message-ID lets a relay or mail client drop
such a copy.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

from domain.scope import CompiledQuery, TenantScope
from domain.tables import Notification
from domain.writes import short_key
from infra.mail import Mailer, OutgoingMail

log = logging.getLogger(__name__)
# How long a stamp is retried after the server took the message: longer than a database restart, shorter
# than the mail activity's time limit (after which Temporal would start a second attempt).
STAMP_PATIENCE = 20.0


_STAMP = CompiledQuery(
    Notification,
    lambda scope, sent_at, key: scope.update(Notification, {Notification.sent_at: sent_at}).where(
        Notification.key == key
    ),
)


async def send_once(scope: TenantScope, key: str, mail: OutgoingMail, mailer: Mailer) -> bool:
    """Call it outside any transaction: the outbox row must be committed before the message is sent."""
    key = short_key(key, 120)
    async with scope.transaction():  # committed before the message leaves
        # The first attempt, by far the most common, is one statement; a retry finds the row and reads it.
        written = await Notification.raw(
            "INSERT INTO notification (tenant_id, key, recipient, subject) "
            "VALUES ({}, {}, {}, {}) ON CONFLICT (key) DO NOTHING RETURNING id",
            scope.tenant_id,
            key,
            mail.to,
            mail.subject[:300],
        )
        if not written:
            row = (
                await scope.select(Notification, Notification.sent_at).where(Notification.key == key).first()
            )
            if row and row["sent_at"]:
                return False

    async def stamp() -> None:
        sent_at = datetime.now(UTC)
        deadline, pause = time.monotonic() + STAMP_PATIENCE, 0.1
        while True:
            try:
                async with scope.transaction():
                    await _STAMP.rows(scope, sent_at, key)
                return
            except Exception as error:  # whatever the database says, the message is already out
                if time.monotonic() + pause > deadline:
                    raise
                log.warning("mail %s sent; recording it failed (%r), trying again", key, error)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 2.0)

    await mailer.send(mail, accepted=stamp)
    return True
