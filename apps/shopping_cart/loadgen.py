"""A bounded HTTP load generator for the write API (and the POST-to-read latency).

``python -m apps.shopping_cart.loadgen write --url http://127.0.0.1:8080 [-n 20000] [-c 64]``
sends ``n`` ``/api/v1/add`` requests with ``c`` in flight and prints req/s and latency
percentiles. ``python -m apps.shopping_cart.loadgen e2e --url W --read-url R [--rate 1000]
[--seconds 10]`` posts at a fixed rate and measures, per request, the time until the read API
shows the cart version it caused.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import time
from typing import Any

import aiohttp

from apps.shopping_cart.settings import run_async


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list (``q`` in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, math.ceil(q / 100 * len(sorted_values)) - 1))
    return sorted_values[rank]


def summary(name: str, latencies: list[float], elapsed: float, statuses: dict[int, int]) -> str:
    lat = sorted(latencies) or [float("nan")]
    ms = [1000 * percentile(lat, q) for q in (50, 90, 99)]
    return (
        f"{name}: {len(latencies)} timed in {elapsed:.2f} s = {len(latencies) / elapsed:.0f} /s; "
        f"p50 {ms[0]:.1f} ms, p90 {ms[1]:.1f} ms, p99 {ms[2]:.1f} ms, max {1000 * lat[-1]:.1f} ms;"
        f" statuses {dict(sorted(statuses.items()))}"
    )


async def write_load(url: str, n: int, concurrency: int, customers: int) -> str:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counter = iter(range(n))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            for i in counter:
                body = {"customerId": f"c{i % customers}", "itemId": str(1 + i % 6), "qty": 1}
                t0 = time.perf_counter()
                try:
                    async with session.post(f"{url}/api/v1/add", json=body) as resp:
                        await resp.read()
                        status = resp.status
                except aiohttp.ClientError:
                    status = 0  # connection failed: counted, not timed
                else:
                    latencies.append(time.perf_counter() - t0)
                statuses[status] = statuses.get(status, 0) + 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return summary(f"write API ({concurrency} concurrent)", latencies, elapsed, statuses)


async def e2e_load(
    url: str, read_url: str, rate: float, seconds: float, customers: int, sample: int = 10
) -> str:
    """POST adds at ``rate``/s; for every ``sample``-th, poll the read API (every 20 ms) until
    the cart shows it. Following every POST would flood the read API with polls."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    run_id = f"e2e{random.randrange(10**9)}"
    expected: dict[str, int] = {}
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(i: int) -> None:
            customer = f"{run_id}-{i % customers}"
            t0 = time.perf_counter()
            body = {"customerId": customer, "itemId": "1", "qty": 1}
            try:
                async with session.post(f"{url}/api/v1/add", json=body) as resp:
                    await resp.read()
                    status = resp.status
            except aiohttp.ClientError:
                status = 0
            statuses[status] = statuses.get(status, 0) + 1
            if status != 202:
                return
            expected[customer] = expected.get(customer, 0) + 1
            want = expected[customer]
            if i % sample:
                return  # only every `sample`-th POST is followed to the read API
            deadline = t0 + 10
            while time.perf_counter() < deadline:
                async with session.get(f"{read_url}/api/v1/{customer}") as resp:
                    if resp.status == 200:
                        cart: Any = json.loads(await resp.read())
                        line = cart.get("lines", {}).get("1")
                        if line and line["qty"] >= want:
                            latencies.append(time.perf_counter() - t0)
                            return
                await asyncio.sleep(0.02)

        tasks = []
        start = time.perf_counter()
        total = int(rate * seconds)
        for i in range(total):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    lost = len(range(0, total, sample)) - len(latencies)
    return summary(f"POST->read ({rate:.0f}/s, {lost} not seen)", latencies, elapsed, statuses)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m apps.shopping_cart.loadgen")
    sub = parser.add_subparsers(dest="mode", required=True)
    w = sub.add_parser("write")
    w.add_argument("--url", default="http://127.0.0.1:8080")
    w.add_argument("-n", type=int, default=20_000)
    w.add_argument("-c", type=int, default=64)
    w.add_argument("--customers", type=int, default=1000)
    e = sub.add_parser("e2e")
    e.add_argument("--url", default="http://127.0.0.1:8080")
    e.add_argument("--read-url", default="http://127.0.0.1:7000")
    e.add_argument("--rate", type=float, default=1000)
    e.add_argument("--seconds", type=float, default=10)
    e.add_argument("--customers", type=int, default=500)
    args = parser.parse_args(argv)
    out: list[str] = []

    async def go() -> None:
        if args.mode == "write":
            out.append(await write_load(args.url, args.n, args.c, args.customers))
        else:
            rate, secs, customers = args.rate, args.seconds, args.customers
            out.append(await e2e_load(args.url, args.read_url, rate, secs, customers))

    run_async(go())
    print(out[0])


if __name__ == "__main__":
    main()
