"""Faust peer (faust-streaming): W1-W4 as agents, with Faust Tables for state.

Runs in ``build/bench-venvs/faust`` with the repository on ``PYTHONPATH``. Feature gaps, and
what stands in for them:

* No joins at all. The products topic is read to its end into a lookup dict before the worker
  starts (a GlobalKTable's start-up, by hand); the agent looks each item up there.
* Tables use Faust's default in-memory store (``memory://``; RocksDB needs an extra native
  package) with a changelog topic, so Faust's state writes are cheaper than the RocksDB/LMDB
  stores of the other systems.
* Every count/cart update is sent (no record cache); the final value per key is the same.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import faust
from aiokafka import AIOKafkaConsumer, TopicPartition

from benchmarks import protocol
from benchmarks.peers.common import (
    cart_step,
    parse_args,
    product_entry,
    public_view,
    w1_keep,
    w1_map,
)

_first = [False]


def _crashed(exc: BaseException) -> None:
    # A crashed Faust agent leaves the worker running; tell the harness instead of timing out.
    protocol.emit(protocol.ERROR, message=f"agent crashed: {type(exc).__name__}: {exc}")


def _mark() -> None:
    if not _first[0]:
        _first[0] = True
        protocol.emit(protocol.FIRST_CONSUMED)


async def _load_products(bootstrap: str, topic: str) -> dict[str, Any]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    out: dict[str, Any] = {}
    try:
        # aiokafka's public partitions_for_topic only knows subscribed topics: ask the cluster.
        meta = await consumer._client.fetch_all_metadata()
        parts = [TopicPartition(topic, p) for p in sorted(meta.partitions_for_topic(topic) or ())]
        if not parts:
            raise RuntimeError(f"products topic {topic} has no partitions (is it loaded?)")
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        pending = {tp for tp in parts if ends[tp] > 0}
        while pending:
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for tp, msgs in batches.items():
                for msg in msgs:
                    product = product_entry(msg.value)
                    key = msg.key.decode()
                    if product is None:
                        out.pop(key, None)
                    else:
                        out[key] = product
                    if msg.offset >= ends[tp] - 1:
                        pending.discard(tp)
    finally:
        await consumer.stop()
    return out


def main() -> None:
    args = parse_args()
    eos = args.guarantee == "exactly_once_v2"
    products: dict[str, Any] = {}
    if args.products:
        products = asyncio.run(_load_products(args.bootstrap, args.products))
    app = faust.App(
        args.app_id,
        broker=f"kafka://{args.bootstrap}",
        store="memory://",
        processing_guarantee="exactly_once" if eos else "at_least_once",
        broker_commit_interval=args.commit_interval_ms / 1000,
        topic_partitions=4,
        consumer_auto_offset_reset="earliest",
        datadir=args.state_dir,
        web_enabled=False,
    )
    source = app.topic(args.input, key_serializer="raw", value_serializer="raw")
    sink = app.topic(args.output, key_serializer="raw", value_serializer="raw")

    if args.workload == "W1":

        @app.agent(source)
        async def w1(stream: Any) -> None:
            try:
                async for key, raw in stream.items():
                    _mark()
                    value = json.loads(raw)
                    if w1_keep(value):
                        await sink.send(key=key, value=json.dumps(w1_map(value)).encode())
            except Exception as exc:
                _crashed(exc)
                raise

    elif args.workload == "W2":
        counts = app.Table("counts", default=int, partitions=4)

        @app.agent(source)
        async def w2(stream: Any) -> None:
            try:
                async for key, _raw in stream.items():
                    _mark()
                    k = key.decode()
                    n = counts[k] + 1
                    counts[k] = n
                    await sink.send(key=key, value=str(n).encode())
            except Exception as exc:
                _crashed(exc)
                raise

    else:
        carts = app.Table("carts", default=None, partitions=4)

        @app.agent(source)
        async def w3(stream: Any) -> None:
            try:
                async for key, raw in stream.items():
                    _mark()
                    k = key.decode()
                    cart = cart_step(k, carts.get(k), json.loads(raw), products)
                    carts[k] = cart
                    view = json.dumps(public_view(cart), separators=(",", ":")).encode()
                    await sink.send(key=key, value=view)
            except Exception as exc:
                _crashed(exc)
                raise

    protocol.emit(protocol.READY)
    worker = faust.Worker(app, loglevel="WARNING", quiet=True)
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
