"""Restoration micro-benchmark (not a test): a changelog topic replayed into an LMDB store.

Produces `--records` records (`--keys` distinct keys, 100-byte values) to a fresh compacted
topic, then restores it into an empty LMDB store with `restore_partition`, and prints one JSON
line (target >= 150k records/s). Needs a broker:

    .venv/bin/python benchmarks/micro/bench_restore.py --bootstrap 127.0.0.1:29092
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from pathlib import Path

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from kstreamy.state.lmdb_store import LmdbKeyValueStore
from kstreamy.state.restore import restore_partition
from kstreamy.state.testing import FakeStoreContext


def fill_topic(bootstrap: str, topic: str, records: int, keys: int) -> float:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    new = NewTopic(
        topic, num_partitions=1, replication_factor=1, config={"cleanup.policy": "compact"}
    )
    for future in admin.create_topics([new]).values():
        future.result(30)
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 50,
            "batch.size": 1_000_000,
            "compression.type": "lz4",
        }
    )
    value = b"v" * 100
    start = time.perf_counter()
    for i in range(records):
        while True:
            try:
                producer.produce(topic, value, b"key-%08d" % (i % keys))
                break
            except BufferError:
                producer.poll(0.05)
    remaining = producer.flush(60)
    if remaining:
        raise SystemExit(f"{remaining} records were not delivered to {topic}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--records", type=int, default=500_000)
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=10_000)
    args = parser.parse_args()
    topic = f"bench-restore-{uuid.uuid4().hex[:8]}-changelog"
    produce_s = fill_topic(args.bootstrap, topic, args.records, args.keys)
    with tempfile.TemporaryDirectory() as tmp:
        ctx = FakeStoreContext(state_dir=Path(tmp))
        store = LmdbKeyValueStore("bench")
        store.init(ctx, store)
        start = time.perf_counter()
        result = restore_partition(
            {"bootstrap.servers": args.bootstrap},
            topic,
            0,
            None,
            ctx.registered["bench"][1],
            batch_size=args.batch_size,
            store_name="bench",
        )
        elapsed = time.perf_counter() - start
        entries = store.approximate_num_entries()
        store.close()
    AdminClient({"bootstrap.servers": args.bootstrap}).delete_topics([topic])
    print(
        json.dumps(
            {
                "bench": "restore_lmdb",
                "records": result.restored_records,
                "end_offset": result.end_offset,
                "store_entries": entries,
                "seconds": round(elapsed, 3),
                "records_per_s": round(result.restored_records / elapsed),
                "produce_seconds": round(produce_s, 3),
                "target_records_per_s": 150_000,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
