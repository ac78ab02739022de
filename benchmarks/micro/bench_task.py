"""The runtime's per-record path without a broker: CPU microseconds per record of the `cart`
topology (tests/runtime/dsl_topologies.py) run through `Task` objects exactly as a worker runs
them — LMDB stores in a state directory, the worker's `ThreadCache`, a global task holding the
GlobalKTable, a commit (flush stores) every `--commit-every` records — with a collector that only
counts what it is sent (the producer's cost is not in these figures).

    .venv/bin/python benchmarks/micro/bench_task.py --records 100000 --repeat 3 [--profile F]

Use it to judge per-record changes by CPU time on a shared machine; `bench_runtime.py` gives the
figures on a real broker.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from kstreamy.processor import Headers, TaskId
from kstreamy.runtime.record_collector import RecordCollector
from kstreamy.runtime.task import Task, task_config
from kstreamy.serdes import Json, MsgPack
from kstreamy.state.cache import ThreadCache
from tests.runtime.dsl_topologies import cart

CARTS = 2_000
PRODUCTS = 200


class CountingCollector(RecordCollector):
    """Counts records and bytes sent (what a producer would be handed)."""

    def __init__(self) -> None:
        self.records = 0
        self.bytes = 0

    def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        timestamp: int,
        headers: Headers = (),
        partition: int | None = None,
    ) -> None:
        self.records += 1
        self.bytes += len(value) if value is not None else 0


def run_once(n: int, commit_every: int, profile: str | None, fmt: str = "json") -> dict[str, Any]:
    serde = MsgPack() if fmt == "msgpack" else Json()
    topology = cart("events", "products", "out", serde)
    config = task_config({"application.id": "bench-task", "bootstrap.servers": "unused:9092"})
    cache = ThreadCache(int(config["statestore.cache.max.bytes"]))
    with tempfile.TemporaryDirectory() as state_dir:
        root = Path(state_dir)
        global_sub = topology.global_subtopology()
        assert global_sub is not None
        global_task = Task(TaskId(-1, 0), topology, global_sub, CountingCollector(), config,
                           application_id="bench-task", state_dir=root / "global",
                           is_global=True)  # fmt: skip
        (root / "global").mkdir()
        global_task.initialize()
        for i in range(PRODUCTS):
            value = serde.serialize("", {"price": i % 50 + 1})
            global_task.process("products", 0, i, 1000, b"p%d" % i, value)
        global_task.flush_stores()
        collector = CountingCollector()
        sub = topology.task_subtopologies()[0]
        tasks = []
        for p in range(2):
            task_dir = root / f"0_{p}"
            task_dir.mkdir()
            task = Task(TaskId(0, p), topology, sub, collector, config,
                        application_id="bench-task", global_stores=global_task.stores,
                        thread_cache=cache, state_dir=task_dir)  # fmt: skip
            task.initialize()
            tasks.append(task)
        records = [
            (b"cart-%d" % (i % CARTS),
             serde.serialize("", {"product": f"p{i % PRODUCTS}", "qty": i % 3 + 1}))
            for i in range(n)
        ]  # fmt: skip
        profiler: Any = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for i, (key, value) in enumerate(records):
            task = tasks[i & 1]
            task.process("events", i & 1, i >> 1, 1_000_000 + i, key, value, ())
            if i % commit_every == commit_every - 1:
                for t in tasks:
                    t.commit()
        for t in tasks:
            t.commit()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile)
        for t in tasks:
            t.close()
        global_task.close()
    return {
        "records": n,
        "format": fmt,
        "cpu_us_per_record": round(cpu / n * 1e6, 2),
        "records_per_cpu_s": round(n / cpu),
        "wall_s": round(wall, 3),
        "sent": collector.records,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--commit-every", type=int, default=4_000,
                        help="records per commit (100 ms at 40k/s)")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", default=None, help="cProfile output file (first run)")
    parser.add_argument("--format", choices=("json", "msgpack"), default="json")
    args = parser.parse_args()
    results = []
    for i in range(args.repeat):
        result = run_once(
            args.records, args.commit_every, args.profile if i == 0 else None, args.format
        )
        print(json.dumps(result), flush=True)
        results.append(result)
    us = [r["cpu_us_per_record"] for r in results if not (args.profile and r is results[0])]
    if us:
        print(json.dumps({"summary": "cart task path", "best_cpu_us_per_record": min(us),
                          "median_cpu_us_per_record": statistics.median(us)}))  # fmt: skip


if __name__ == "__main__":
    main()
