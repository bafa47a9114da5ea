"""Rate-limit windows open at the first attempt: where the wall clock stands never changes a count."""

import pytest

from infra.ratelimit import Limit, MemoryCounters, RateLimiter

FIVE_IN_A_MINUTE = Limit("test", 5, 60)


class Clock:
    """A wall clock the test moves, to stand on a window's edge without waiting for it."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock(1_800_000_000.0)


async def attempts(limiter: RateLimiter, clock: Clock, count: int, every: float) -> list[bool]:
    answers = []
    for _ in range(count):
        answers.append(await limiter.allow(FIVE_IN_A_MINUTE, "203.0.113.9"))
        clock.now += every
    return answers


@pytest.mark.parametrize("seconds_into_the_minute", [0.0, 30.0, 59.5])
async def test_a_burst_is_cut_at_the_allowance_wherever_it_starts_on_the_clock(
    clock, seconds_into_the_minute
):
    clock.now += seconds_into_the_minute  # 1_800_000_000 is a whole minute: 59.5 s is just before the next
    limiter = RateLimiter(MemoryCounters(clock=clock))
    assert await attempts(limiter, clock, 7, every=0.2) == [True] * 5 + [False] * 2


async def test_the_window_ends_its_length_after_the_first_attempt_and_a_new_one_opens(clock):
    limiter = RateLimiter(MemoryCounters(clock=clock))
    assert await attempts(limiter, clock, 6, every=10) == [True] * 5 + [False]  # 0 s to 50 s
    clock.now += 0.5  # 60.5 s after the first attempt
    assert await attempts(limiter, clock, 6, every=1) == [True] * 5 + [False]


async def test_forgiving_gives_an_attempt_back_within_the_window_only(clock):
    limiter = RateLimiter(MemoryCounters(clock=clock))
    assert await attempts(limiter, clock, 5, every=1) == [True] * 5
    await limiter.forgive(FIVE_IN_A_MINUTE, "203.0.113.9")
    assert await attempts(limiter, clock, 2, every=1) == [True, False]
    clock.now += 60
    await limiter.forgive(FIVE_IN_A_MINUTE, "203.0.113.9")  # the window is over: nothing to give back
    assert await attempts(limiter, clock, 6, every=1) == [True] * 5 + [False]


async def test_an_address_is_counted_apart_from_another_and_case_does_not_split_an_account(clock):
    limiter = RateLimiter(MemoryCounters(clock=clock))
    for _ in range(5):
        assert await limiter.allow(FIVE_IN_A_MINUTE, "Clerk@Town.test")
    assert not await limiter.allow(FIVE_IN_A_MINUTE, "clerk@town.test")
    assert await limiter.allow(FIVE_IN_A_MINUTE, "someone-else@town.test")


async def test_memory_holds_only_the_windows_still_open_however_many_came_before(clock):
    counters = MemoryCounters(clock=clock)
    limiter = RateLimiter(counters)
    for visitor in range(10_000):  # a day of visitors, one every 6 s, each in a window of a minute
        await limiter.allow(FIVE_IN_A_MINUTE, f"198.51.{visitor // 256}.{visitor % 256}")
        clock.now += 6
    assert len(counters) <= 11
