"""Windowed-operator throughput through the TopologyTestDriver (one process).

Run: .venv/bin/python benchmarks/micro/bench_windowed.py [--records N]
Rates are per second of this process's CPU time (wall-clock rate printed too).
Targets (issue 7): (a) tumbling windowed count over 10k keys >= 50k records/s; (b) hopping
windows, 5 windows per record >= 15k records/s. Also reported, without targets: session count,
suppressed windowed count, stream-stream inner join.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from kstreamy.dsl import StreamsBuilder
from kstreamy.dsl_windowed import stream_stream_join, suppress, windowed_by
from kstreamy.serdes import Long, SessionWindowed, String, TimeWindowed
from kstreamy.suppressed import Suppressed
from kstreamy.testing.driver import TopologyTestDriver
from kstreamy.windows import JoinWindows, SessionWindows, TimeWindows

S, L = String(), Long()
TARGETS = {"(a)": 50_000.0, "(b)": 15_000.0}


def bench(name: str, build: Callable[[StreamsBuilder], None], n: int, topics: int = 1) -> float:
    b = StreamsBuilder()
    build(b)
    # 7 ms apart: hopping windows of 50 s every 10 s hold each record (after the first 40 s) in 5
    records = [(f"k{i % 10_000}", f"v{i}", i * 7) for i in range(n)]
    with TopologyTestDriver(b.build(), {"application.id": "bench"}) as d:
        inputs = [d.create_input_topic(t, S, S) for t in ("in", "in2")[:topics]]
        start, cpu_start = time.perf_counter(), time.process_time()
        for i, (k, v, ts) in enumerate(records):
            inputs[i % topics].pipe_input(k, v, ts)
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
    rate = n / cpu
    target = next((t for p, t in TARGETS.items() if name.startswith(p)), None)
    verdict = "" if target is None else ("  OK" if rate >= target else f"  BELOW {target:,.0f}")
    print(
        f"{name:<46} {n:>8} records {rate:>10,.0f} records/s of CPU time"
        f"  ({n / elapsed:,.0f}/s wall clock){verdict}"
    )
    return rate


def warm_up() -> None:
    """One small run first, so imports and first-use costs stay out of the measurements."""
    b = StreamsBuilder()
    windowed_by(b.stream("in", S, S).group_by_key(), TimeWindows.of(1_000)).count(store="w")
    with TopologyTestDriver(b.build(), {"application.id": "warm"}) as d:
        inp = d.create_input_topic("in", S, S)
        for i in range(2_000):
            inp.pipe_input(f"k{i % 100}", "v", i)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    n = parser.parse_args().records

    def tumbling(b: StreamsBuilder) -> None:
        grouped = b.stream("in", S, S).group_by_key()
        windowed_by(grouped, TimeWindows.of(60_000)).count(store="c").to_stream().to(
            "out", TimeWindowed(S, 60_000), L
        )

    def hopping(b: StreamsBuilder) -> None:
        grouped = b.stream("in", S, S).group_by_key()
        windowed_by(grouped, TimeWindows.of(50_000).advance_by(10_000)).count(
            store="c"
        ).to_stream().to("out", TimeWindowed(S, 50_000), L)

    def sessions(b: StreamsBuilder) -> None:
        grouped = b.stream("in", S, S).group_by_key()
        windowed_by(grouped, SessionWindows.with_inactivity_gap(5_000)).count(
            store="s"
        ).to_stream().to("out", SessionWindowed(S), L)

    def suppressed(b: StreamsBuilder) -> None:
        grouped = b.stream("in", S, S).group_by_key()
        counts = windowed_by(grouped, TimeWindows.of(60_000)).count(store="c")
        suppress(counts, Suppressed.until_window_closes()).to_stream().to(
            "out", TimeWindowed(S, 60_000), L
        )

    def join(b: StreamsBuilder) -> None:
        left, right = b.stream("in", S, S), b.stream("in2", S, S)
        stream_stream_join(left, right, lambda a, c: a + c, JoinWindows.of(1_000)).to("out", S, S)

    warm_up()
    bench("(a) tumbling windowed count, 10k keys", tumbling, n)
    bench("(b) hopping count, 5 windows per record", hopping, n // 2)
    bench("session count, 10k keys", sessions, n // 4)
    bench("suppressed tumbling count", suppressed, n // 2)
    bench("stream-stream inner join", join, n // 4, topics=2)


if __name__ == "__main__":
    main()
