"""Fixed-window rate limits for public writes (submissions, sign-in), per client address and per e-mail
address, kept in the same store as the sessions so that every web process counts together."""

from __future__ import annotations

import asyncio
import hashlib
import time
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
    """Counts in a Litestar store. The read-and-write is serialised within the process (so a burst of
    simultaneous posts cannot all read the same count); across web processes the count is approximate,
    which is enough to slow a flood."""

    SWEEP_EVERY = 500  # calls between removals of expired windows (the file store keeps them otherwise)

    def __init__(self, store: Store, enabled: bool = True) -> None:
        self.store = store
        self.enabled = enabled
        self._lock = asyncio.Lock()
        self._calls = 0

    async def allow(self, limit: Limit, who: str) -> bool:
        """Counts this attempt; False once `who` has used up the window's allowance."""
        if not self.enabled or not who:
            return True
        key = self._key(limit, who)
        async with self._lock:
            current = await self.store.get(key)
            count = int(current or 0) + 1
            await self.store.set(key, str(count), expires_in=limit.window_seconds)
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
            count = int(await self.store.get(key) or 0)
            if count > 0:
                await self.store.set(key, str(count - 1), expires_in=limit.window_seconds)

    @staticmethod
    def _key(limit: Limit, who: str) -> str:
        window = int(time.time() // limit.window_seconds)
        digest = hashlib.sha256(f"{limit.name}:{who.lower()}".encode()).hexdigest()[:32]
        return f"rl:{limit.name}:{digest}:{window}"
