"""Where does kstreamy's time per W3 record go? ``python -m benchmarks.profile_w3 [--mode M]``.

Modes:

* ``kafka`` (default): one kstreamy W3 run through the harness on a real broker, with every
  thread under cProfile (``KSTREAMY_BENCH_PROFILE``); the per-thread profiles are merged.
* ``driver``: the shopping-cart topology under ``TopologyTestDriver`` (no broker): processors,
  stores and serdes without the Kafka clients.
* ``logic``: only the business work every Python system shares (JSON decode, ``parse_event``,
  ``cart.apply``, ``public_view``, JSON encode): the floor under any Python implementation.

Prints the top functions by own time and a per-area breakdown (µs per record); ``--out``
also writes it to a file. Profiled throughput is not a benchmark number: cProfile slows
Python code two- to three-fold.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import data

AREAS = (
    ("kstreamy runtime", ("kstreamy/runtime",)),
    (
        "kstreamy processors/graph",
        ("kstreamy/processors", "kstreamy/_internal", "kstreamy/dsl", "kstreamy/topology"),
    ),
    ("kstreamy state stores", ("kstreamy/state",)),
    ("kstreamy serdes", ("kstreamy/serdes",)),
    ("kstreamy test driver", ("kstreamy/testing",)),
    ("cart logic (apps/shopping_cart)", ("apps/shopping_cart",)),
    ("json", ("json/", "re.Pattern")),
    ("decimal/datetime/uuid", ("decimal", "datetime", "uuid")),
    ("lmdb", ("lmdb", "of 'Transaction'", "of 'Cursor'", "of 'Environment'")),
    ("confluent-kafka", ("confluent_kafka", "cimpl")),
    ("kstreamy other", ("kstreamy/",)),
)


IDLE = ("acquire' of '_thread", "wait", "sleep", "<method 'poll' of 'cimpl")
"""Functions where a thread only blocks (main thread waiting for SIGTERM, consumer polls)."""


def area_of(filename: str, func: str) -> str:
    text = f"{filename}:{func}"
    for name, needles in AREAS:
        if any(n in text for n in needles):
            return name
    return "other (builtins, threading, waits)"


def summarize(stats: pstats.Stats, records: int, top: int = 30) -> str:
    by_area: dict[str, float] = {}
    raw = stats.stats  # type: ignore[attr-defined]
    total = 0.0
    for (filename, _line, func), (_cc, _nc, tottime, _ct, _callers) in raw.items():
        if any(idle in func for idle in IDLE):
            continue  # a thread blocked or sleeping is not work per record
        by_area[area_of(filename, func)] = by_area.get(area_of(filename, func), 0.0) + tottime
        total += tottime
    out = io.StringIO()
    out.write(f"records: {records}; profiled CPU in non-idle functions: {total:.2f} s\n\n")
    out.write("area                                   µs/record   share\n")
    for name, secs in sorted(by_area.items(), key=lambda kv: -kv[1]):
        out.write(f"{name:<38} {secs / records * 1e6:9.1f}   {secs / total:6.1%}\n")
    out.write("\n")
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def profile_logic(records: int) -> tuple[pstats.Stats, int]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from benchmarks.peers.common import cart_step, product_entry, public_view

    products = {k.decode(): product_entry(v) for k, v in data.products()}
    events = list(data.cart_events(records))
    carts: dict[str, object] = {}
    prof = cProfile.Profile()
    prof.enable()
    for key, value in events:
        k = key.decode()
        cart = cart_step(k, carts.get(k), json.loads(value), products)  # type: ignore[arg-type]
        carts[k] = cart
        json.dumps(public_view(cart), separators=(",", ":")).encode()
    prof.disable()
    return pstats.Stats(prof), records


def profile_driver(records: int) -> tuple[pstats.Stats, int]:
    from apps.shopping_cart.topology import build_topology
    from kstreamy.serdes import Bytes
    from kstreamy.testing.driver import TopologyTestDriver

    topology = build_topology({"cart.events.topic": "in", "products.topic": "products",
                               "cart.details.topic": "out"})  # fmt: skip
    events = list(data.cart_events(records))
    with TopologyTestDriver(topology, config={"application.id": "profile"}) as driver:
        products = driver.create_input_topic("products", Bytes(), Bytes())
        for key, value in data.products():
            products.pipe_input(key, value)
        inp = driver.create_input_topic("in", Bytes(), Bytes())
        out = driver.create_output_topic("out", Bytes(), Bytes())
        prof = cProfile.Profile()
        prof.enable()
        for key, value in events:
            inp.pipe_input(key, value)
            if out.queue_size() > 10_000:
                out.read_records_to_list()
        prof.disable()
    return pstats.Stats(prof), records


def profile_kafka(records: int, bootstrap: str | None) -> tuple[pstats.Stats, int]:
    from benchmarks import run

    directory = tempfile.mkdtemp(prefix="kstreamy-profile-")
    os.environ["KSTREAMY_BENCH_PROFILE"] = directory
    argv = ["--workloads", "W3", "--systems", "kstreamy", "--runs", "1", "--no-verify",
            "--records", str(records), "--out", str(Path(directory) / "result.json")]  # fmt: skip
    if bootstrap:
        argv += ["--bootstrap", bootstrap]
    run.main(argv)
    print(f"profiles: {directory}", flush=True)
    files = sorted(str(p) for p in Path(directory).glob("*.prof"))
    if not files:
        raise SystemExit(f"no profiles were written to {directory}: did the kstreamy run start?")
    return pstats.Stats(*files), records


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile_w3", description=__doc__)
    p.add_argument("--mode", choices=["kafka", "driver", "logic"], default="kafka")
    p.add_argument("--records", type=int, default=50_000)
    p.add_argument("--bootstrap", default=None)
    p.add_argument("--out", default=None, help="also write the summary to this file")
    p.add_argument(
        "--from-dir", default=None, help="summarise the .prof files of an earlier kafka-mode run"
    )
    args = p.parse_args(argv)
    started = time.time()
    if args.from_dir:
        files = sorted(str(f) for f in Path(args.from_dir).glob("*.prof"))
        stats, n = pstats.Stats(*files), args.records
    elif args.mode == "logic":
        stats, n = profile_logic(args.records)
    elif args.mode == "driver":
        stats, n = profile_driver(args.records)
    else:
        stats, n = profile_kafka(args.records, args.bootstrap)
    mode = f"summary of {args.from_dir}" if args.from_dir else args.mode
    text = f"mode: {mode} ({time.time() - started:.1f} s)\n" + summarize(stats, n)
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
