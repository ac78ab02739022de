"""Driver throughput micro-benchmarks (records/s through the TopologyTestDriver, one process).

Run: .venv/bin/python benchmarks/micro/bench_driver.py [--records N] [--repeat R]
Rates are per second of this process's CPU time (the wall-clock rate is printed too), so that a
busy machine does not hide regressions; with `--repeat R` each benchmark runs R times and the
best and median rates are printed (a shared machine's noise mostly slows runs down, so the best
is the steadiest figure to compare).
Targets: (a) filter -> map_values -> to >= 200k/s; (b) group_by_key().count() over 10k keys
>= 60k/s; (c) stream-GlobalKTable join >= 80k/s.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from kstreamy.dsl import StreamsBuilder
from kstreamy.serdes import Long, String
from kstreamy.testing.driver import TopologyTestDriver

S = String()
Prepare = Callable[[TopologyTestDriver], None] | None


def bench(
    name: str,
    build: Callable[[StreamsBuilder], None],
    pairs: list[tuple[str, str]],
    prepare: Prepare = None,
) -> float:
    b = StreamsBuilder()
    build(b)
    with TopologyTestDriver(b.build(), {"application.id": "bench"}) as d:
        if prepare is not None:
            prepare(d)
        inp = d.create_input_topic("in", S, S)
        start, cpu_start = time.perf_counter(), time.process_time()
        inp.pipe_key_value_list(pairs)
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
    rate = len(pairs) / cpu
    print(
        f"{name:<40} {len(pairs):>8} records  {rate:>10,.0f} records/s of CPU time"
        f"  ({len(pairs) / elapsed:,.0f}/s wall clock)"
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    n, repeat = args.records, max(1, args.repeat)
    pairs = [(f"k{i % 10_000}", f"v{i}") for i in range(n)]

    def stateless(b: StreamsBuilder) -> None:
        b.stream("in", S, S).filter(lambda k, v: v[-1] != "7").map_values(str.upper).to("out", S, S)

    def count(b: StreamsBuilder) -> None:
        b.stream("in", S, S).group_by_key().count(store="counts").to_stream().to("out", S, Long())

    def global_join(b: StreamsBuilder) -> None:
        g = b.global_table("products", S, S, store="products")
        b.stream("in", S, S).join(g, lambda v, p: p, key_mapper=lambda k, v: k).to("out", S, S)

    def load_products(d: TopologyTestDriver) -> None:
        d.create_input_topic("products", S, S).pipe_key_value_list(
            [(f"k{i}", f"product-{i}") for i in range(10_000)]
        )

    cases: list[tuple[str, Callable[[StreamsBuilder], None], Prepare]] = [
        ("(a) filter -> map_values -> to", stateless, None),
        ("(b) group_by_key().count(), 10k keys", count, None),
        ("(c) stream-GlobalKTable join", global_join, load_products),
    ]
    for name, build, prepare in cases:
        rates = sorted(bench(name, build, pairs, prepare) for _ in range(repeat))
        if repeat > 1:
            print(
                f"{name:<40} best {rates[-1]:,.0f}/s  median {statistics.median(rates):,.0f}/s"
                f" of CPU time over {repeat} runs"
            )


if __name__ == "__main__":
    main()
