"""Store micro-benchmarks (not tests): prints one JSON line per measurement.

- lmdb_put_get: LMDB bytes store, put + get of random keys, one transaction per commit
  (target >= 300k ops/s); also through the typed + change-logging layers.
- cached_aggregate: a count over 10k hot keys through the typed + caching + logging + LMDB stack;
  a flush listener counts downstream emissions per commit (target: <= 1 per key per commit).

Run: .venv/bin/python benchmarks/micro/bench_stores.py [--ops N]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from kstreamy.serdes import Long, String
from kstreamy.state.cache import ThreadCache
from kstreamy.state.lmdb_store import LmdbKeyValueStore
from kstreamy.state.stores import Stores
from kstreamy.state.testing import FakeStoreContext


class NullLogContext(FakeStoreContext):
    """Counts changelog writes instead of keeping them (a producer stand-in)."""

    logged = 0

    def log_change(self, *args: Any, **kwargs: Any) -> None:
        self.logged += 1


def emit(result: dict[str, Any]) -> None:
    print(json.dumps(result), flush=True)


def bench_lmdb_put_get(ops: int, keys: int, commit_every: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ctx = NullLogContext(state_dir=Path(tmp))
        store = LmdbKeyValueStore("bench")
        store.init(ctx, store)
        rng = random.Random(1)
        key_list = [b"key-%08d" % i for i in range(keys)]
        chosen = [key_list[rng.randrange(keys)] for _ in range(ops)]
        value = b"v" * 100
        put, get, flush = store.put, store.get, store.flush
        start = time.perf_counter()
        for i, key in enumerate(chosen):
            get(key)
            put(key, value)
            if i % commit_every == commit_every - 1:
                flush()
        flush()
        elapsed = time.perf_counter() - start
        emit(
            {
                "bench": "lmdb_put_get",
                "layer": "bytes",
                "ops": 2 * ops,
                "keys": keys,
                "commit_every": commit_every,
                "seconds": round(elapsed, 3),
                "ops_per_s": round(2 * ops / elapsed),
                "target_ops_per_s": 300_000,
            }
        )
        store.close()


def bench_typed_put_get(ops: int, keys: int, commit_every: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ctx = NullLogContext(state_dir=Path(tmp))
        ctx.set_record(0)
        store: Any = Stores.key_value("bench", String(), Long(), caching=False).build()
        store.init(ctx, store)
        rng = random.Random(2)
        chosen = [f"key-{rng.randrange(keys):08d}" for _ in range(ops)]
        start = time.perf_counter()
        for i, key in enumerate(chosen):
            store.put(key, (store.get(key) or 0) + 1)
            if i % commit_every == commit_every - 1:
                store.flush()
        store.flush()
        elapsed = time.perf_counter() - start
        emit(
            {
                "bench": "lmdb_put_get",
                "layer": "typed+logging+lmdb",
                "ops": 2 * ops,
                "keys": keys,
                "commit_every": commit_every,
                "seconds": round(elapsed, 3),
                "ops_per_s": round(2 * ops / elapsed),
                "changelog_records": ctx.logged,
            }
        )
        store.close()


def bench_cached_aggregate(records: int, hot_keys: int, commit_every: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ctx = NullLogContext(state_dir=Path(tmp), cache=ThreadCache(10 * 1024 * 1024))
        store: Any = Stores.timestamped_key_value("agg", String(), Long()).build()
        store.init(ctx, store)
        emitted: Counter[str] = Counter()
        assert store.set_flush_listener(lambda k, new, old, rc: emitted.update((k,)), True)
        rng = random.Random(3)
        chosen = [f"hot-{rng.randrange(hot_keys):05d}" for _ in range(records)]
        worst = 0
        total_emits = 0
        commits = 0
        start = time.perf_counter()
        for i, key in enumerate(chosen):
            ctx.set_record(i)
            old = store.get(key)
            store.put(key, (1 if old is None else old.value + 1, i))
            if i % commit_every == commit_every - 1 or i == records - 1:
                store.flush()
                commits += 1
                worst = max(worst, max(emitted.values(), default=0))
                total_emits += sum(emitted.values())
                emitted.clear()
        elapsed = time.perf_counter() - start
        emit(
            {
                "bench": "cached_aggregate",
                "records": records,
                "hot_keys": hot_keys,
                "commits": commits,
                "downstream_records": total_emits,
                "max_emits_per_key_per_commit": worst,
                "changelog_records": ctx.logged,
                "seconds": round(elapsed, 3),
                "records_per_s": round(records / elapsed),
                "target_max_emits_per_key_per_commit": 1,
            }
        )
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ops", type=int, default=300_000)
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--commit-every", type=int, default=10_000)
    args = parser.parse_args()
    bench_lmdb_put_get(args.ops, args.keys, args.commit_every)
    bench_typed_put_get(args.ops // 2, args.keys, args.commit_every)
    bench_cached_aggregate(args.ops, 10_000, 50_000)


if __name__ == "__main__":
    main()
