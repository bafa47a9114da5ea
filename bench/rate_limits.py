"""What one rate-limit check costs after many: the counters must not slow down as posts pile up.

    python bench/rate_limits.py [--redis-url redis://127.0.0.1:6379/15] [--posts 1000000]

Counts `allow` calls the way a submission makes them (two limits, per address and per e-mail, each person
new), and prints the mean CPU of the bench process per post, in slices, for the in-memory counters and,
when a Redis answers, for the Redis ones (Redis's own CPU not counted; the round trip is the wall time).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redis.asyncio import Redis  # noqa: E402

from infra.ratelimit import Limit, MemoryCounters, RateLimiter, RedisCounters  # noqa: E402


async def run(limiter: RateLimiter, posts: int, slices: int) -> list[tuple[int, float, float]]:
    run_id = uuid.uuid4().hex[:8]
    per_address = Limit(f"bench-ip-{run_id}", 30, 600)
    per_email = Limit(f"bench-email-{run_id}", 10, 3600)
    rows = []
    step = posts // slices
    for slice_start in range(0, posts, step):
        cpu, wall = time.process_time(), time.perf_counter()
        for n in range(slice_start, slice_start + step):
            await limiter.allow(per_address, f"1:10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}")
            await limiter.allow(per_email, f"1:person{n}@example.com")
        rows.append(
            (
                slice_start + step,
                (time.process_time() - cpu) / step * 1e6,
                (time.perf_counter() - wall) / step * 1e6,
            )
        )
    return rows


def show(name: str, rows: list[tuple[int, float, float]]) -> None:
    print(f"\n{name}: posts so far | CPU µs per post | wall µs per post")
    for count, cpu, wall in rows:
        print(f"  {count:>9,} | {cpu:8.1f} | {wall:8.1f}")
    print(f"ratio CPU per post last/first slice ({name}): {rows[-1][1] / rows[0][1]:.2f}")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--redis-posts", type=int, default=100_000)
    parser.add_argument("--slices", type=int, default=5)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    arguments = parser.parse_args()
    counters = MemoryCounters()
    show("memory", await run(RateLimiter(counters), arguments.posts, arguments.slices))
    print(f"  open windows held: {len(counters):,}")
    client = Redis.from_url(arguments.redis_url, socket_connect_timeout=3)
    try:
        await client.ping()
    except OSError as error:
        print(f"\nredis: skipped ({error})")
        return
    try:
        show("redis", await run(RateLimiter(RedisCounters(client)), arguments.redis_posts, arguments.slices))
    finally:
        await client.aclose()


if __name__ == "__main__":
    asyncio.run(main())
