"""Fixed-window rate limits for public writes (submissions, sign-in), per client address and per e-mail
address, kept in the same store as the sessions so that every web process counts together."""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from litestar.stores.base import Store

from infra.i18n import N_


@dataclass(frozen=True)
class Limit:
    name: str
    allowed: int
    window_seconds: int


# Said when a sign-in attempt is refused for the limit (staff and platform pages alike).
TOO_MANY_SIGN_INS = N_("Too many attempts to sign in. Wait fifteen minutes, then try again.")

# What a person needs, with room to spare; what a script hammering the town's portal does not get.
SUBMIT_PER_ADDRESS = Limit("submit-ip", 30, 600)
SUBMIT_PER_EMAIL = Limit("submit-email", 10, 3600)
# Sign-ins count failures only (a right password or code gives its attempt back, see `forgive`). Passwords
# are counted per address, and per account from that address, so nobody elsewhere can lock a member of
# staff out by guessing; codes (asked once the password is right) per account.
SIGN_IN_PER_ADDRESS = Limit("sign-in-ip", 20, 300)
SIGN_IN_PER_ACCOUNT = Limit("sign-in-account", 5, 900)
CODE_PER_ACCOUNT = Limit("code-account", 5, 900)
LINK_PER_ADDRESS = Limit("link-ip", 20, 900)
LINK_PER_EMAIL = Limit("link-email", 3, 900)
# A citizen adding to their own request, per request: each comment mails the staff, each photo is decoded.
COMMENTS_PER_AUTHOR = Limit("comment-author", 10, 3600)
PHOTOS_PER_AUTHOR = Limit("photo-author", 20, 3600)
# Looking a request up by reference and e-mail: a person mistypes a few times; a script guesses addresses.
LOOKUP_PER_ADDRESS = Limit("lookup-ip", 20, 900)
LOOKUP_PER_REFERENCE = Limit("lookup-reference", 10, 900)


class RateLimiter:
    """Counts in a Litestar store. A window opens at the first attempt and lasts its length: a window cut
    at wall-clock boundaries would let a burst that straddles one through twice, and would make a count
    depend on when in the window it started. The read-and-write is serialised within the process (so a
    burst of simultaneous posts cannot all read the same count); across web processes the count is
    approximate, which is enough to slow a flood."""

    SWEEP_EVERY = 500  # calls between removals of expired windows (the file store keeps them otherwise)

    def __init__(self, store: Store, enabled: bool = True, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.enabled = enabled
        self.clock = clock
        self._lock = asyncio.Lock()
        self._calls = 0

    async def allow(self, limit: Limit, who: str) -> bool:
        """Counts this attempt; False once `who` has used up the window's allowance."""
        if not self.enabled or not who:
            return True
        key = self._key(limit, who)
        async with self._lock:
            count, ends_at = await self._read(key)
            now = self.clock()
            if ends_at <= now:
                count, ends_at = 0, now + limit.window_seconds
            count += 1
            await self._write(key, count, ends_at)
            self._calls += 1
            if self._calls % self.SWEEP_EVERY == 0 and hasattr(self.store, "delete_expired"):
                await self.store.delete_expired()
        return count <= limit.allowed

    async def forgive(self, limit: Limit, who: str) -> None:
        """Gives back an attempt `allow` counted, once it proved good. Counting first and forgiving after
        (rather than counting failures afterwards) keeps simultaneous guesses from all slipping through."""
        if not self.enabled or not who:
            return
        key = self._key(limit, who)
        async with self._lock:
            count, ends_at = await self._read(key)
            if count > 0 and ends_at > self.clock():
                await self._write(key, count - 1, ends_at)

    async def _read(self, key: str) -> tuple[int, float]:
        """The window's count and the moment it ends; (0, 0) when there is none."""
        stored = await self.store.get(key)
        if not stored:
            return 0, 0.0
        count, _, ends_at = stored.decode().partition(" ")
        return int(count), float(ends_at or 0)

    async def _write(self, key: str, count: int, ends_at: float) -> None:
        await self.store.set(
            key, f"{count} {ends_at:.3f}", expires_in=max(1, math.ceil(ends_at - self.clock()))
        )

    @staticmethod
    def _key(limit: Limit, who: str) -> str:
        digest = hashlib.sha256(f"{limit.name}:{who.lower()}".encode()).hexdigest()[:32]
        return f"rl:{limit.name}:{digest}"
