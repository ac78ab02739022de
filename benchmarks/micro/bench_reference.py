"""Hand-written reference loop for the cart job (not a test): the floor kstreamy's runtime is
measured against (issue #5: "a hand-written confluent-kafka + msgpack + batched-LMDB loop does
this job at about 90k/s here").

The job is `bench_runtime.py --topology cart` (`tests/runtime/dsl_topologies.py::cart`) done by
hand, with the same data (CARTS, PRODUCTS, record generation and bytes of bench_runtime) and the
same librdkafka client settings kstreamy uses (`StreamsConfig.client_config`), so the comparison
is about processing, not client tuning:

- the whole products topic is read into a dict first (what the GlobalKTable does);
- one consumer (a fresh group) reads the input with batched `consume`, as kstreamy's worker does
  (take what is queued, up to 2000; wait up to 100 ms for one record only when nothing is);
- per record: decode, price via the products dict (no product: dropped, as the inner join does),
  add to the cart's aggregate {"items", "total"}, held decoded in memory (loaded from LMDB on
  first touch, kept as a cache) and marked dirty;
- every `--commit-interval-ms`: encode each dirty cart once, write them to LMDB in one write
  transaction per input partition (one environment per partition, like kstreamy's per-task
  stores, with its durability settings: sync and metasync on), produce each to the sink topic
  and to a compacted changelog topic (same partition as the input; `--no-changelog` skips it),
  flush the producer and commit the offsets (asynchronously, as kstreamy's periodic commits do).
  `--guarantee exactly_once_v2`: a transactional producer, read_committed, and
  `send_offsets_to_transaction` + `commit_transaction` each interval.

Single-instance only: the fresh group has one member, so rebalances (revocations) are not
handled, and nothing is restored from the changelog (the stores start empty).
`--no-cache` forgets the carts at each commit (each interval reads them from LMDB again).

Timing as bench_runtime: from the first consumed record until the group's committed offsets
cover the input, watched from the main thread while the loop runs in its own thread; CPU is the
whole process's (loop thread, watcher and librdkafka's threads). One JSON line per run, then a
summary line (no calibration line).

    .venv/bin/python benchmarks/micro/bench_reference.py --bootstrap 127.0.0.1:9192 \
        --records 100000 --format msgpack --guarantee exactly_once_v2 --repeat 3
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import logging
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lmdb
import msgpack
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.micro.bench_runtime import (
    CARTS,
    PRODUCTS,
    GcTimer,
    cpu_seconds,
    create_topics,
    end_offsets,
    preload,
    run_series,
    summary,
    thread_cpu_seconds,
    value_serde,
)
from kstreamy.config import StreamsConfig

BATCH = 2000
"""Records per `consume` call: kstreamy's worker takes 2 * buffered.records.per.partition."""
POLL_TIMEOUT_S = 0.1
"""Wait for a first record when none is queued (kstreamy's poll.ms)."""
MAP_SIZE = 64 * 1024 * 1024
"""LMDB map size (kstreamy's default for a store)."""
CACHE_MAX_ENTRIES = 100_000
"""Decoded carts kept in memory between commits; the cache is dropped whole above this."""

Encode = Callable[[Any], bytes]
Decode = Callable[[bytes], Any]


def codec(fmt: str) -> tuple[Encode, Decode]:
    """Encoder and decoder for `fmt`, byte-compatible with kstreamy's Json / MsgPack serdes."""
    if fmt == "msgpack":
        return msgpack.Packer(use_bin_type=True).pack, functools.partial(
            msgpack.unpackb, raw=False, strict_map_key=False
        )
    encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)

    def encode_json(obj: Any) -> bytes:
        return encoder.encode(obj).encode("utf-8")

    return encode_json, json.loads


def cart_records(
    records: int, fmt: str
) -> tuple[list[tuple[bytes, bytes]], list[tuple[bytes, bytes]]]:
    """(products, cart events) exactly as bench_runtime generates them."""
    serialize = value_serde(fmt).serialize

    def encode(obj: Any) -> bytes:
        data = serialize("", obj)
        assert data is not None
        return data

    products = [(b"p%d" % i, encode({"price": i % 50 + 1})) for i in range(PRODUCTS)]
    events = [
        (b"cart-%d" % (i % CARTS), encode({"product": f"p{i % PRODUCTS}", "qty": i % 3 + 1}))
        for i in range(records)
    ]
    return products, events


def expected_carts(records: int) -> dict[str, dict[str, int]]:
    """The final aggregate per cart of `cart_records(records)`, computed directly."""
    carts: dict[str, dict[str, int]] = {}
    for i in range(records):
        qty, price = i % 3 + 1, (i % PRODUCTS) % 50 + 1
        agg = carts.setdefault(f"cart-{i % CARTS}", {"items": 0, "total": 0})
        agg["items"] += qty
        agg["total"] += qty * price
    return carts


def client_configs(bootstrap: str, group: str, guarantee: str) -> dict[str, dict[str, Any]]:
    """kstreamy's librdkafka settings for the main consumer, the producer and the global
    consumer of an application named `group` (fetch.queue.backoff.ms, linger.ms, acks, ...)."""
    config = StreamsConfig(
        {"application.id": group, "bootstrap.servers": bootstrap, "processing.guarantee": guarantee}
    )
    kinds = ("consumer", "producer", "global_consumer")
    return {kind: config.client_config(kind) for kind in kinds}  # type: ignore[arg-type]


def load_products(config: dict[str, Any], topic: str, decode: Decode) -> dict[str, int]:
    """Product id -> price, from the whole `topic` (read from the beginning to its end)."""
    consumer = Consumer(config)
    try:
        metadata = consumer.list_topics(topic, 10).topics[topic]
        if metadata.error is not None:
            raise SystemExit(f"cannot read products topic {topic}: {metadata.error}")
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), 10)[1]
            for p in metadata.partitions
        }
        pending = {p for p, end in ends.items() if end > 0}
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in pending])
        prices: dict[str, int] = {}
        deadline = time.monotonic() + 60
        while pending:
            if time.monotonic() > deadline:
                raise SystemExit(f"products topic {topic}: partitions {sorted(pending)} not "
                                 "read to their end within 60 s; is the broker up?")  # fmt: skip
            msgs: list[Any] = consumer.consume(BATCH, 0.1)
            for msg in msgs:
                if msg.error() is not None:
                    raise SystemExit(f"products topic {topic}: {msg.error()}")
                value = msg.value()
                key = msg.key().decode()
                if value is None:
                    prices.pop(key, None)
                else:
                    prices[key] = decode(value)["price"]
                if msg.offset() + 1 >= ends[msg.partition()]:
                    pending.discard(msg.partition())
        return prices
    finally:
        consumer.close()


class ReferenceLoop:
    """The hand-written cart job (see the module docstring); `run` is the thread body."""

    def __init__(self, args: argparse.Namespace, topics: dict[str, str], state_dir: str) -> None:
        self.input = topics["input"]
        self.sink = topics["sink"]
        self.changelog = topics.get("changelog")
        self.eos = args.guarantee == "exactly_once_v2"
        self.interval = args.commit_interval_ms / 1000.0
        self.keep_cache = args.cache
        self.encode, self.decode = codec(args.format)
        group = topics["group"]
        configs = client_configs(args.bootstrap, group, args.guarantee)
        self.prices = load_products(configs["global_consumer"], topics["products"], self.decode)
        producer_config = {**configs["producer"], "on_delivery": self._delivered}
        if self.eos:
            producer_config["transactional.id"] = f"{group}-0"
        self.producer = Producer(producer_config)
        if self.eos:
            self.producer.init_transactions(30)
        self.consumer = Consumer(configs["consumer"])
        self.state_dir = Path(state_dir)
        self.envs: dict[int, lmdb.Environment] = {}
        self.cache: dict[bytes, list[int]] = {}
        """Cart key -> [items, total, input partition], decoded."""
        self.dirty: dict[bytes, list[int]] = {}
        self.positions: dict[int, int] = {}
        """Input partition -> offset of the next record to process (to commit)."""
        self.in_transaction = False
        self.processed = 0
        self.commits = 0
        self.commit_seconds = 0.0
        self.error: BaseException | None = None
        self.native_id: int | None = None
        self._delivery_error: Any = None
        self._stop = threading.Event()

    def _delivered(self, err: Any, msg: Any) -> None:
        if err is not None and self._delivery_error is None:
            self._delivery_error = f"{msg.topic()}[{msg.partition()}]: {err}"

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        self.native_id = threading.get_native_id()
        try:
            self.consumer.subscribe([self.input])
            self._loop()
            self._commit(final=True)
        except BaseException as exc:  # reported by the main thread
            self.error = exc
        finally:
            self.consumer.close()
            for env in self.envs.values():
                env.close()

    def _loop(self) -> None:
        consumer, interval = self.consumer, self.interval
        last_commit = time.monotonic()
        while not self._stop.is_set():
            msgs = consumer.consume(BATCH, 0)
            if not msgs:
                first = consumer.poll(POLL_TIMEOUT_S)
                msgs = [] if first is None else [first, *consumer.consume(BATCH - 1, 0)]
            if msgs:
                self._process(msgs)
            if time.monotonic() - last_commit >= interval:
                self._commit()
                last_commit = time.monotonic()

    def _process(self, msgs: list[Any]) -> None:
        if self.eos and not self.in_transaction:
            self.producer.begin_transaction()
            self.in_transaction = True
        decode, prices, cache, dirty = self.decode, self.prices, self.cache, self.dirty
        positions = self.positions
        for msg in msgs:
            if msg.error() is not None:
                raise KafkaException(msg.error())
            partition = msg.partition()
            positions[partition] = msg.offset() + 1
            event = decode(msg.value())
            price = prices.get(event["product"])
            if price is None:
                continue  # the inner join drops events of unknown products
            key = msg.key()
            agg = cache.get(key)
            if agg is None:
                agg = cache[key] = self._load(key, partition)
            qty = event["qty"]
            agg[0] += qty
            agg[1] += qty * price
            dirty[key] = agg
        self.processed += len(msgs)

    def _env(self, partition: int) -> lmdb.Environment:
        env = self.envs.get(partition)
        if env is None:
            path = self.state_dir / f"carts-{partition}"
            path.mkdir(parents=True, exist_ok=True)
            env = lmdb.open(str(path), map_size=MAP_SIZE, sync=True, metasync=True,
                            writemap=False, readahead=False, meminit=False)  # fmt: skip
            self.envs[partition] = env
        return env

    def _load(self, key: bytes, partition: int) -> list[int]:
        with self._env(partition).begin() as txn:
            stored = txn.get(key)
        if stored is None:
            return [0, 0, partition]
        agg = self.decode(stored)
        return [agg["items"], agg["total"], partition]

    def _commit(self, final: bool = False) -> None:
        """1. LMDB, one write transaction per partition; 2. sink and changelog records;
        3. flush the producer; 4. commit the offsets (in the transaction under EOS)."""
        if not self.positions:
            return
        started = time.perf_counter()
        encode, producer, sink, changelog = self.encode, self.producer, self.sink, self.changelog
        by_partition: dict[int, list[tuple[bytes, bytes]]] = {}
        for key, agg in self.dirty.items():
            value = encode({"items": agg[0], "total": agg[1]})
            by_partition.setdefault(agg[2], []).append((key, value))
        for partition, entries in by_partition.items():
            with self._env(partition).begin(write=True) as txn:
                for key, value in entries:
                    txn.put(key, value)
        for partition, entries in by_partition.items():
            for key, value in entries:
                producer.produce(sink, value, key)
                if changelog is not None:
                    producer.produce(changelog, value, key, partition=partition)
        if producer.flush(30):
            raise SystemExit(f"records to {sink} not acknowledged within 30 s")
        if self._delivery_error is not None:
            raise SystemExit(f"delivery failed: {self._delivery_error}")
        offsets = [TopicPartition(self.input, p, o) for p, o in self.positions.items()]
        if self.eos:
            if not self.in_transaction:
                producer.begin_transaction()
            group_metadata = self.consumer.consumer_group_metadata()
            producer.send_offsets_to_transaction(offsets, group_metadata, 30)
            producer.commit_transaction(30)
            self.in_transaction = False
        elif final:
            self.consumer.commit(offsets=offsets, asynchronous=False)
        else:
            self.consumer.commit(offsets=offsets, asynchronous=True)
        self.dirty.clear()
        self.positions.clear()
        if not self.keep_cache or len(self.cache) > CACHE_MAX_ENTRIES:
            self.cache.clear()
        self.commits += 1
        self.commit_seconds += time.perf_counter() - started


def prepare(args: argparse.Namespace) -> tuple[dict[str, str], list[TopicPartition], float]:
    """Create and preload the products and input topics; (topics, input end offsets, preload s)."""
    run_id = uuid.uuid4().hex[:8]
    topics = {"input": f"bench-ref-in-{run_id}", "products": f"bench-ref-products-{run_id}"}
    create_topics(args.bootstrap, {topics["input"]: args.partitions, topics["products"]: 1})
    products, events = cart_records(args.records, args.format)
    preload(args.bootstrap, topics["products"], products)
    preload_s = preload(args.bootstrap, topics["input"], events)
    return topics, end_offsets(args.bootstrap, topics["input"], args.partitions), preload_s


def create_run_topics(args: argparse.Namespace, topics: dict[str, str]) -> dict[str, str]:
    """A fresh group, sink and (unless --no-changelog) compacted changelog topic for one run."""
    group = f"bench-ref-{uuid.uuid4().hex[:8]}"
    run = {**topics, "group": group, "sink": f"{group}-out"}
    create_topics(args.bootstrap, {run["sink"]: args.partitions})
    if args.changelog:
        from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

        run["changelog"] = f"{group}-carts-changelog"
        topic = NewTopic(run["changelog"], num_partitions=args.partitions, replication_factor=1,
                         config={"cleanup.policy": "compact"})  # fmt: skip
        admin = AdminClient({"bootstrap.servers": args.bootstrap})
        for future in admin.create_topics([topic]).values():
            future.result(30)
    return run


def run_once(args: argparse.Namespace, topics: dict[str, str],
             ends: list[TopicPartition]) -> dict[str, Any]:  # fmt: skip
    """One timed run of the reference loop on preloaded `topics`; the result line (its "sink"
    and "changelog" name the output topics)."""
    run = create_run_topics(args, topics)
    total = sum(tp.offset for tp in ends)
    watcher = Consumer({"bootstrap.servers": args.bootstrap, "group.id": run["group"]})
    with tempfile.TemporaryDirectory() as state_dir:
        loop = ReferenceLoop(args, run, state_dir)
        thread = threading.Thread(target=loop.run, name="reference-loop", daemon=True)
        thread.start()
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline and loop.processed == 0 and loop.error is None:
            time.sleep(0.005)
        gc_timer = GcTimer()
        gc.callbacks.append(gc_timer)
        started, cpu0 = time.perf_counter(), cpu_seconds()
        thread0 = thread_cpu_seconds(loop.native_id)
        done = False
        while time.monotonic() < deadline and not done and loop.error is None:
            committed = watcher.committed([TopicPartition(t.topic, t.partition) for t in ends], 10)
            done = all(c.offset >= e.offset for c, e in zip(committed, ends, strict=True))
            if not done:
                time.sleep(0.02)
        elapsed, cpu = time.perf_counter() - started, cpu_seconds() - cpu0
        thread_cpu = thread_cpu_seconds(loop.native_id) - thread0
        gc.callbacks.remove(gc_timer)
        loop.stop()
        thread.join(60)
        watcher.close()
    if loop.error is not None:
        raise SystemExit(f"reference loop failed: {type(loop.error).__name__}: {loop.error}")
    if not done:
        raise SystemExit(f"run did not finish within {args.timeout}s")
    return {
        "topology": "cart-reference",
        "format": args.format,
        "guarantee": args.guarantee,
        "changelog": args.changelog,
        "cache": args.cache,
        "records": total,
        "seconds": round(elapsed, 3),
        "records_per_s": round(total / elapsed),
        "cpu_s_per_1k": round(cpu / total * 1000, 4),
        "worker_thread_busy": round(thread_cpu / elapsed, 2),
        "commits": loop.commits,
        "gc_tuned": bool(args.tune_gc),
        "gc_s_per_1k": round(gc_timer.seconds / total * 1000, 4),
        "gc_collections": gc_timer.collections,
        "commit_latency_avg_ms": round(1000 * loop.commit_seconds / max(1, loop.commits), 2),
        "sink": run["sink"],
        "changelog_topic": run.get("changelog"),
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument(
        "--guarantee", choices=("at_least_once", "exactly_once_v2"), default="at_least_once"
    )
    parser.add_argument("--commit-interval-ms", type=int, default=100)
    parser.add_argument("--format", choices=("json", "msgpack"), default="json",
                        help="value format (same default as bench_runtime)")  # fmt: skip
    parser.add_argument("--no-changelog", dest="changelog", action="store_false",
                        help="do not write the changelog topic (kstreamy does)")  # fmt: skip
    parser.add_argument("--no-cache", dest="cache", action="store_false",
                        help="forget the carts at each commit: each interval loads the carts "
                             "it touches from LMDB again")  # fmt: skip
    parser.add_argument("--partitions", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=0, help="unmeasured runs first")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--tune-gc", action="store_true",
                        help="apply kstreamy._internal.gc_tuning before each run")  # fmt: skip
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.records > 200_000:
        raise SystemExit("--records is capped at 200000 (shared machine)")
    logging.basicConfig(level=logging.ERROR)
    topics, ends, preload_s = prepare(args)
    results = run_series(args, lambda last: run_once(args, topics, ends))
    line = summary(
        results, summary=f"cart-reference/{args.format}/{args.guarantee}", records=args.records,
        changelog=args.changelog, preload_s=round(preload_s, 2),
    )  # fmt: skip
    print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
