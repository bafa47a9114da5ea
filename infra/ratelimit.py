"""Fixed-window rate limits for public writes (submissions, sign-in), per client address and per e-mail
address. Each window is one atomic counter: in the process's memory for the embedded setup, in Redis when
several web processes must count together. A post costs the same whatever came before it."""

from __future__ import annotations

import hashlib
import heapq
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from infra.i18n import N_

if TYPE_CHECKING:
    from redis.asyncio import Redis


@dataclass(frozen=True)
class Limit:
    """An allowance of `allowed` attempts in a window of `window_seconds` that opens at the first one."""

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
# "Me too" on an open request nearby: each one signs an address up for a request's mail, so a script may
# not sign up many addresses from one place, nor one address to many requests.
SUPPORT_PER_ADDRESS = Limit("support-ip", 20, 600)
SUPPORT_PER_EMAIL = Limit("support-email", 10, 3600)
# Looking a request up by reference and e-mail: a person mistypes a few times; a script guesses addresses.
LOOKUP_PER_ADDRESS = Limit("lookup-ip", 20, 900)
LOOKUP_PER_REFERENCE = Limit("lookup-reference", 10, 900)
# A town's API key, Open311 and the integration API together: a busy integration's traffic, not a runaway
# loop's. Open311's public data read without a key is counted per client address.
API_PER_KEY = Limit("api-key", 600, 60)
OPEN311_READ_PER_ADDRESS = Limit("open311-read-ip", 120, 60)
# The address search box asks as the citizen types (a few times a second at most) and a pin asks once per
# drop: a person stays far below this; a script reading out the town's whole gazetteer does not.
PLACE_SEARCH_PER_ADDRESS = Limit("place-search-ip", 120, 60)


class Counters(Protocol):
    """Window counters that count atomically: simultaneous attempts never read the same count."""

    async def hit(self, key: str, window_seconds: int) -> int:
        """Adds one to the key's window, opening one of `window_seconds` if none is open; the new count."""

    async def give_back(self, key: str) -> None:
        """Takes one off the key's open window, if it has one and its count is above nothing."""


class MemoryCounters:
    """Counters in this process, for the embedded setup's single web process. Nothing here awaits, so each
    call is atomic on the event loop; windows that ended are dropped as later calls pass them, so memory
    holds only the windows still open."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._windows: dict[str, list[float]] = {}  # key -> [count, ends_at]
        self._endings: list[tuple[float, str]] = []  # (ends_at, key), soonest first

    async def hit(self, key: str, window_seconds: int) -> int:
        now = self.clock()
        self._drop_ended(now)
        window = self._windows.get(key)
        if window is None or window[1] <= now:
            window = self._windows[key] = [0, now + window_seconds]
            heapq.heappush(self._endings, (window[1], key))
        window[0] += 1
        return int(window[0])

    async def give_back(self, key: str) -> None:
        window = self._windows.get(key)
        if window is not None and window[0] > 0 and window[1] > self.clock():
            window[0] -= 1

    def __len__(self) -> int:
        return len(self._windows)

    def _drop_ended(self, now: float) -> None:
        # A key has one entry here per window, and a window reopens only after its ending is dropped.
        while self._endings and self._endings[0][0] <= now:
            del self._windows[heapq.heappop(self._endings)[1]]


class RedisCounters:
    """Counters in Redis, shared by every web process. Each call is one script, so a count and its window's
    expiry are set together; Redis drops a window when it ends."""

    HIT = """
    local count = redis.call('INCR', KEYS[1])
    if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
    return count
    """
    GIVE_BACK = """
    local count = tonumber(redis.call('GET', KEYS[1]) or '0')
    if count > 0 then redis.call('DECR', KEYS[1]) end
    return count
    """

    def __init__(self, client: Redis) -> None:
        self._hit = client.register_script(self.HIT)
        self._give_back = client.register_script(self.GIVE_BACK)

    async def hit(self, key: str, window_seconds: int) -> int:
        return int(await self._hit(keys=[key], args=[window_seconds * 1000]))

    async def give_back(self, key: str) -> None:
        await self._give_back(keys=[key])


class RateLimiter:
    """Counts attempts per limit and person. A window opens at the first attempt and lasts its length: a
    window cut at wall-clock boundaries would let a burst that straddles one through twice, and would make
    a count depend on when in the window it started."""

    def __init__(self, counters: Counters, enabled: bool = True) -> None:
        self.counters = counters
        self.enabled = enabled

    async def allow(self, limit: Limit, who: str) -> bool:
        """Counts this attempt; False once `who` has used up the window's allowance."""
        if not self.enabled or not who:
            return True
        return await self.counters.hit(self._key(limit, who), limit.window_seconds) <= limit.allowed

    async def forgive(self, limit: Limit, who: str) -> None:
        """Gives back an attempt `allow` counted, once it proved good. Counting first and forgiving after
        (rather than counting failures afterwards) keeps simultaneous guesses from all slipping through."""
        if self.enabled and who:
            await self.counters.give_back(self._key(limit, who))

    @staticmethod
    def _key(limit: Limit, who: str) -> str:
        digest = hashlib.sha256(f"{limit.name}:{who.lower()}".encode()).hexdigest()[:32]
        return f"rl:{limit.name}:{digest}"
