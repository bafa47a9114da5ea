"""Several web processes count together: rate-limit windows and sessions in a real Redis, the production
shape (SESSION_STORE_URL), beside the in-memory counters of the embedded setup."""

import asyncio
import dataclasses
import os
import secrets
import uuid

import pytest
from redis.asyncio import Redis

from apps.web import create_app
from infra.ratelimit import Limit, MemoryCounters, RateLimiter, RedisCounters
from tests.support.factories import make_town, valid_form
from tests.support.portal import PortalClient
from tests.support.services import eventually, offline_settings

# ./portal test finds or starts a Redis and sets this; by hand, the machine's own is tried.
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


async def connect_redis() -> Redis:
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=5)
    try:
        await client.ping()
    except OSError as error:
        await client.aclose()
        if "TEST_REDIS_URL" in os.environ:
            raise
        pytest.skip(f"no Redis at {REDIS_URL} ({error}); ./portal test starts one")
    return client


@pytest.fixture
async def redis():
    client = await connect_redis()
    yield client
    await client.aclose()


def a_limit(allowed: int, window_seconds: int = 600) -> Limit:
    """A limit of its own per test, so that runs side by side on one Redis never share a count."""
    return Limit(f"test-{uuid.uuid4().hex[:12]}", allowed, window_seconds)


def an_address() -> str:
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


@pytest.fixture(params=["memory", "redis"])
async def limiter(request):
    if request.param == "memory":
        yield RateLimiter(MemoryCounters())
        return
    client = await connect_redis()
    yield RateLimiter(RedisCounters(client))
    await client.aclose()


async def test_a_burst_of_simultaneous_attempts_is_counted_exactly(limiter):
    limit = a_limit(30)
    answers = await asyncio.gather(*(limiter.allow(limit, "1:203.0.113.9") for _ in range(80)))
    assert answers.count(True) == 30


async def test_a_good_attempt_given_back_is_counted_again_and_only_once(limiter):
    limit = a_limit(3)
    assert [await limiter.allow(limit, "clerk@town.test") for _ in range(3)] == [True] * 3
    await limiter.forgive(limit, "clerk@town.test")
    assert [await limiter.allow(limit, "clerk@town.test") for _ in range(2)] == [True, False]


async def test_a_redis_window_ends_its_length_after_the_first_attempt(redis):
    limiter = RateLimiter(RedisCounters(redis))
    limit = a_limit(2, window_seconds=1)
    assert [await limiter.allow(limit, "203.0.113.9") for _ in range(3)] == [True, True, False]
    assert await redis.pttl(limiter._key(limit, "203.0.113.9")) <= 1000  # the window's end is set once
    await eventually(lambda: limiter.allow(limit, "203.0.113.9"), within=30, interval=0.2)
    assert await limiter.allow(limit, "203.0.113.9")  # a new window, counting from one


async def test_two_web_processes_count_one_visitors_submissions_together(redis):
    town = await make_town()
    shared = dataclasses.replace(offline_settings(), session_store_url=REDIS_URL)
    first, second = create_app(shared), create_app(shared)
    address = an_address()
    async with PortalClient(first, town.host, address) as a, PortalClient(second, town.host, address) as b:
        answers = []
        for n in range(30):  # alternately to each process, as a load balancer would send them
            portal = a if n % 2 == 0 else b
            answers.append(await portal.submit(valid_form(contact_email=f"person{n}@example.com")))
        assert [answer.status_code for answer in answers] == [303] * 30
        refused = await a.submit(valid_form(contact_email="person30@example.com"))
    assert refused.status_code == 429 and 'value="person30@example.com"' in refused.text


async def test_a_session_opened_on_one_web_process_is_known_to_the_other(redis):
    town = await make_town()
    shared = dataclasses.replace(offline_settings(), session_store_url=REDIS_URL)
    first, second = create_app(shared), create_app(shared)
    address = an_address()
    async with PortalClient(first, town.host, address) as a, PortalClient(second, town.host, address) as b:
        assert (await a.login(town.admin_email, town.password)).status_code == 303
        b.http.cookies = a.http.cookies  # the same browser; its next request reaches the other process
        assert (await b.get("/admin/requests")).status_code == 200
