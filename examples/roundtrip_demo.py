"""A small end-to-end demo through a real Kafka broker: create a topic, produce, consume back.

Run it with ``make demo`` (which starts a throwaway broker unless KSTREAMY_BOOTSTRAP is set),
or directly: ``KSTREAMY_BOOTSTRAP=127.0.0.1:9092 .venv/bin/python examples/roundtrip_demo.py``.
Until the shopping-cart app exists, this is what ``make demo`` shows.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid

from kstreamy.testing.kafka import consume, create_topics, produce

ITEMS = ["apple", "bread", "cheese", "dates", "eggs"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default=os.environ.get("KSTREAMY_BOOTSTRAP"))
    parser.add_argument("--records", type=int, default=10, help="how many events (default 10)")
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--topic", default=f"demo-cart-events-{uuid.uuid4().hex[:6]}")
    args = parser.parse_args(argv)
    if not args.bootstrap:
        parser.error("no broker: set KSTREAMY_BOOTSTRAP or pass --bootstrap (make demo does)")

    print(f"broker {args.bootstrap}: creating topic {args.topic} ({args.partitions} partitions)")
    create_topics(args.bootstrap, {args.topic: args.partitions})

    events = [
        (f"cart-{i % 3}", json.dumps({"action": "add", "item": ITEMS[i % len(ITEMS)], "qty": 1}))
        for i in range(args.records)
    ]
    started = time.monotonic()
    produce(args.bootstrap, args.topic, events)
    print(f"produced {len(events)} events in {time.monotonic() - started:.2f} s")

    records = consume(args.bootstrap, args.topic, len(events), timeout=60)
    print(f"consumed {len(records)} events back:")
    for r in sorted(records, key=lambda r: (r.partition, r.offset)):
        print(
            f"  partition {r.partition} offset {r.offset:>3}  {r.key.decode()}  {r.value.decode()}"
        )
    carts: dict[str, int] = {}
    for r in records:
        carts[r.key.decode()] = carts.get(r.key.decode(), 0) + json.loads(r.value)["qty"]
    print("items per cart:", dict(sorted(carts.items())))
    ok = sorted((r.key.decode(), r.value.decode()) for r in records) == sorted(events)
    print("round trip OK" if ok else "round trip MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
