"""Server-side sessions whose id changes at sign-in.

Litestar keeps the id a browser already has; a session id planted before sign-in (session fixation) would
then carry the signed-in session. `begin()` marks the session so that the backend deletes the old id and
issues a fresh one.
"""

from __future__ import annotations

import time
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.types import Empty, Message, ScopeSession

SESSION_COOKIE = "portal_session"
ROTATE = "_rotate"
SIGNED_IN_AT = "signed_in_at"
SEEN_AT = "seen_at"


class RotatingSessionBackend(ServerSideSessionBackend):
    def get_session_id(self, connection: ASGIConnection) -> str:
        rotated = connection.scope.get("rotated_session_id")
        return rotated if isinstance(rotated, str) else super().get_session_id(connection)

    async def store_in_message(
        self, scope_session: ScopeSession, message: Message, connection: ASGIConnection
    ) -> None:
        if isinstance(scope_session, dict) and not scope_session:
            # A visitor with nothing in their session (most citizens) gets no cookie and no stored file.
            if connection.cookies.get(self.config.key):
                await super().store_in_message(Empty, message, connection)
            return
        if isinstance(scope_session, dict) and scope_session.pop(ROTATE, False):
            old = connection.cookies.get(self.config.key)
            if old:
                await self.delete(old, store=self.config.get_store_from_app(connection.scope["app"]))
            connection.scope["rotated_session_id"] = self.generate_session_id()  # type: ignore[typeddict-unknown-key]
        await super().store_in_message(scope_session, message, connection)


class RotatingSessionConfig(ServerSideSessionConfig):
    _backend_class = RotatingSessionBackend


def begin(request: Request, data: dict[str, Any]) -> None:
    """Starts a signed-in session under a new id, remembering when, for the timeouts."""
    now = time.time()
    request.clear_session()
    request.set_session({**data, ROTATE: True, SIGNED_IN_AT: now, SEEN_AT: now})


def expired(request: Request, idle_seconds: int, absolute_seconds: int) -> bool:
    """True when the session has been idle too long or is too old; otherwise notes this visit."""
    session = request.session
    now = time.time()
    signed_in, seen = session.get(SIGNED_IN_AT, 0), session.get(SEEN_AT, 0)
    if now - signed_in > absolute_seconds or now - seen > idle_seconds:
        return True
    if now - seen > 60:  # write the session back at most once a minute
        request.set_session({**session, SEEN_AT: now})
    return False
