"""A bounded HTTP load generator for the write API (and the POST-to-read latency).

``python -m apps.shopping_cart.loadgen write --url http://127.0.0.1:8080 [-n 20000] [-c 64]
[--rate R] [--pid NAME=PID ...]`` sends ``n`` ``/api/v1/add`` requests, ``c`` in flight (closed
loop), or at ``R``/s (open loop, ``c`` connections), and prints req/s, latency percentiles, the
generator's own CPU time and, per ``--pid``, that process's CPU seconds per 1k requests (so a
measurement on a small shared machine says who used the CPU).

``python -m apps.shopping_cart.loadgen e2e --url W --read-url R [--rate 1000] [--seconds 10]``
posts at a fixed rate and measures, for every ``--sample``-th POST, the time until the read API
shows the cart it caused (polled every ``--poll-ms``).

It uses the lean keep-alive client of :mod:`apps.shopping_cart.http_client`: about a tenth of
aiohttp's client CPU per request, so one core can drive several thousand requests per second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import resource
import time
from typing import Any

from apps.shopping_cart.http_client import Pool
from apps.shopping_cart.settings import run_async

_TICK = os.sysconf("SC_CLK_TCK")


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


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) a process has used so far, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class CpuMeter:
    """CPU used by this process and by named other processes between start and report."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self._start = {name: process_cpu(pid) for name, pid in pids.items()}
        self._own = own_cpu()

    def report(self, requests: int, elapsed: float) -> str:
        parts = [self._line("loadgen", own_cpu() - self._own, requests, elapsed)]
        for name, pid in self.pids.items():
            used = process_cpu(pid) - self._start[name]
            parts.append(self._line(name, used, requests, elapsed))
        return "\n".join(parts)

    @staticmethod
    def _line(name: str, cpu: float, requests: int, elapsed: float) -> str:
        per_k = 1000 * cpu / requests if requests else float("nan")
        per_s = requests / cpu if cpu else float("inf")
        return (
            f"  cpu {name}: {cpu:.2f} s ({100 * cpu / elapsed:.0f}% of one core), "
            f"{per_k:.3f} CPU-s per 1k requests, {per_s:,.0f} requests per CPU-second"
        )


def _add_body(customer: str, item: str) -> bytes:
    return b'{"customerId":"%s","itemId":"%s","qty":1}' % (customer.encode(), item.encode())


async def write_load(
    url: str,
    n: int,
    concurrency: int,
    customers: int,
    *,
    rate: float | None = None,
    pids: dict[str, int] | None = None,
) -> str:
    """``n`` adds, closed loop with ``concurrency`` in flight, or open loop at ``rate``/s."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    pool = Pool(url, concurrency)
    await pool.connect()
    bodies = [_add_body(f"c{i}", str(1 + i % 6)) for i in range(customers)]
    finished = asyncio.get_running_loop().create_future()
    sent = 0
    clock = time.perf_counter

    def fire() -> None:
        nonlocal sent
        i = sent
        sent += 1
        t0 = clock()

        def done(status: int, body: bytes) -> None:
            if status:
                latencies.append(clock() - t0)
            statuses[status] = statuses.get(status, 0) + 1
            if rate is None and sent < n:
                fire()
            elif len(latencies) + statuses.get(0, 0) == n and not finished.done():
                finished.set_result(None)

        pool.post_json("/api/v1/add", bodies[i % customers], done)

    meter = CpuMeter(pids or {})
    start = clock()
    if rate is None:
        for _ in range(min(concurrency, n)):
            fire()
    else:
        while sent < n:
            due = int((clock() - start) * rate) + 1
            while sent < min(due, n):
                fire()
            await asyncio.sleep(0.001)
    await finished
    elapsed = clock() - start
    pool.close()
    mode = f"{concurrency} connections" + (f", {rate:.0f}/s offered" if rate else " closed loop")
    return (
        summary(f"write API ({mode})", latencies, elapsed, statuses)
        + "\n"
        + meter.report(n, elapsed)
    )


async def e2e_load(
    url: str,
    read_url: str,
    rate: float,
    seconds: float,
    customers: int,
    *,
    sample: int = 10,
    poll_ms: float = 10,
    pids: dict[str, int] | None = None,
) -> str:
    """POST adds at ``rate``/s; for every ``sample``-th, poll the read API until the cart shows
    it. Following every POST would flood the read API with polls."""
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    run_id = f"e2e{random.randrange(10**9)}"
    expected: dict[str, int] = {}
    writes = Pool(url, 128)
    reads = Pool(read_url, 64)
    await writes.connect()
    await reads.connect()
    total = int(rate * seconds)
    followed = 0
    outstanding = [total]
    finished = loop.create_future()
    clock = time.perf_counter

    def settle() -> None:
        outstanding[0] -= 1
        if outstanding[0] == 0 and not finished.done():
            finished.set_result(None)

    def follow(customer: str, want: int, t0: float) -> None:
        deadline = t0 + 10
        path = f"/api/v1/{customer}"

        def answered(status: int, body: bytes) -> None:
            if status == 200:
                cart: Any = json.loads(body)
                line = cart.get("lines", {}).get("1")
                if line and line["qty"] >= want:
                    latencies.append(clock() - t0)
                    settle()
                    return
            if clock() >= deadline:
                settle()
                return
            loop.call_later(poll_ms / 1000, reads.get, path, answered)

        reads.get(path, answered)

    def one(i: int) -> None:
        nonlocal followed
        customer = f"{run_id}-{i % customers}"
        t0 = clock()
        track = i % sample == 0
        if track:
            followed += 1

        def posted(status: int, body: bytes) -> None:
            statuses[status] = statuses.get(status, 0) + 1
            if status != 202:
                settle()
                return
            expected[customer] = expected.get(customer, 0) + 1
            if track:
                follow(customer, expected[customer], t0)
            else:
                settle()

        writes.post_json("/api/v1/add", _add_body(customer, "1"), posted)

    meter = CpuMeter(pids or {})
    start = clock()
    sent = 0
    while sent < total:
        due = min(total, int((clock() - start) * rate) + 1)
        while sent < due:
            one(sent)
            sent += 1
        await asyncio.sleep(0.001)
    await finished
    elapsed = clock() - start
    writes.close()
    reads.close()
    lost = followed - len(latencies)
    name = f"POST->read ({rate:.0f}/s offered, {followed} followed, {lost} not seen in 10 s)"
    return summary(name, latencies, elapsed, statuses) + "\n" + meter.report(total, elapsed)


def _pids(values: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for value in values:
        name, _, pid = value.rpartition("=")
        out[name or f"pid {pid}"] = int(pid)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m apps.shopping_cart.loadgen")
    sub = parser.add_subparsers(dest="mode", required=True)
    w = sub.add_parser("write")
    w.add_argument("--url", default="http://127.0.0.1:8080")
    w.add_argument("-n", type=int, default=20_000)
    w.add_argument("-c", type=int, default=64, help="connections (requests in flight)")
    w.add_argument("--rate", type=float, default=None, help="open loop at this many per second")
    w.add_argument("--customers", type=int, default=1000)
    e = sub.add_parser("e2e")
    e.add_argument("--url", default="http://127.0.0.1:8080")
    e.add_argument("--read-url", default="http://127.0.0.1:7000")
    e.add_argument("--rate", type=float, default=1000)
    e.add_argument("--seconds", type=float, default=10)
    e.add_argument("--customers", type=int, default=500)
    e.add_argument("--sample", type=int, default=10, help="follow every N-th POST")
    e.add_argument("--poll-ms", type=float, default=10, help="read API poll interval")
    for p in (w, e):
        p.add_argument(
            "--pid",
            action="append",
            default=[],
            metavar="NAME=PID",
            help="also report this process's CPU per 1k requests (repeatable)",
        )
    args = parser.parse_args(argv)
    out: list[str] = []

    async def go() -> None:
        pids = _pids(args.pid)
        if args.mode == "write":
            out.append(
                await write_load(
                    args.url, args.n, args.c, args.customers, rate=args.rate, pids=pids
                )
            )
        else:
            out.append(
                await e2e_load(
                    args.url,
                    args.read_url,
                    args.rate,
                    args.seconds,
                    args.customers,
                    sample=args.sample,
                    poll_ms=args.poll_ms,
                    pids=pids,
                )
            )

    run_async(go())
    print(out[0])


if __name__ == "__main__":
    main()
