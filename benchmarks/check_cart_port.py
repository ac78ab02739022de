"""Check that the Java peer's CartLogic gives the same carts as ``apps/shopping_cart/cart.py``.

``python -m benchmarks.check_cart_port [--events N] [--customers C]`` replays the same generated
events (dense: few customers, so re-adds after checkout, partial removals and clears all occur)
through both, without Kafka, and compares the final public cart of every customer. The Kafka
benchmark checks outputs too, but at benchmark sizes most customers see only a few events.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from benchmarks import data
from benchmarks.peers.common import cart_step, product_entry, public_view
from benchmarks.systems import KafkaStreamsJava


def canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def python_carts(events: list[tuple[bytes, bytes]]) -> dict[str, str]:
    products = {k.decode(): product_entry(v) for k, v in data.products()}
    carts: dict[str, dict[str, object]] = {}
    for key, value in events:
        k = key.decode()
        carts[k] = cart_step(k, carts.get(k), json.loads(value), products)  # type: ignore[arg-type]
    return {k: canonical(public_view(c)) for k, c in carts.items()}


def java_carts(events: list[tuple[bytes, bytes]]) -> dict[str, str]:
    java = KafkaStreamsJava()
    java.prepare()
    assert java.classpath
    lines = [f"P\t{k.decode()}\t{v.decode()}" for k, v in data.products()]
    lines += [f"E\t{k.decode()}\t{v.decode()}" for k, v in events]
    proc = subprocess.run(
        ["java", "-cp", java.classpath, "dev.kstreamy.bench.CartReplay"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    out = {}
    for line in proc.stdout.splitlines():
        key, value = line.split("\t", 1)
        out[key] = canonical(json.loads(value))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.check_cart_port", description=__doc__)
    p.add_argument("--events", type=int, default=50_000)
    p.add_argument("--customers", type=int, default=300)
    args = p.parse_args(argv)
    events = list(data.cart_events(args.events, customers=args.customers))
    want, got = python_carts(events), java_carts(events)
    differing = sorted(k for k in want if got.get(k) != want[k])
    extra = sorted(set(got) - set(want))
    print(f"{len(want)} customers, {args.events} events: {len(differing)} differ, "
          f"{len(extra)} extra")  # fmt: skip
    for key in differing[:3]:
        print(f"customer {key}:\n  python {want[key]}\n  java   {got.get(key)}")
    return 1 if differing or extra else 0


if __name__ == "__main__":
    sys.exit(main())
