"""kstreamy's side of the benchmarks: W1-W4 on kstreamy's own Kafka runtime (``KafkaStreams``).

Written against the public API in /work/shared/API.md ("Running on Kafka"); it needs nothing
else from kstreamy. W3/W4 run the real shopping-cart topology (``apps.shopping_cart.topology``),
so the benchmark measures the code users run. Launched by the harness as
``python benchmarks/systems/kstreamy_app.py --workload W3 --bootstrap ... --app-id ...``.

``KSTREAMY_BENCH_THREADS=N`` runs N worker processes (``num.stream.threads``; default 1, like
the Java peer's ``KSTREAMY_BENCH_JAVA_THREADS``).
``KSTREAMY_BENCH_PROFILE=<dir>`` profiles every thread with cProfile and writes one
``<thread>.prof`` per thread into ``<dir>`` at shutdown (``benchmarks/profile_w3.py`` merges them).
"""

from __future__ import annotations

import cProfile
import functools
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks import protocol
from benchmarks.peers.common import parse_args, w1_keep, w1_map

_PROFILES: list[tuple[str, cProfile.Profile]] = []


class FirstConsumedSerde:
    """Wraps a value serde; the first ``deserialize`` reports ``first_consumed``.

    After that it rebinds ``deserialize`` to the inner serde's method, so a runtime that looks
    the method up per record pays nothing; one that cached the bound method pays one flag test.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._seen = False
        self.serialize = inner.serialize

    def deserialize(self, topic: str, data: bytes | None) -> Any:
        if not self._seen:
            self._seen = True
            protocol.emit(protocol.FIRST_CONSUMED)
            self.deserialize = self._inner.deserialize  # type: ignore[method-assign]
        return self._inner.deserialize(topic, data)


def topology_for(workload: str, source: str, products: str | None, output: str) -> Any:
    """The kstreamy topology of ``workload`` (module-level, so worker processes can rebuild it)."""
    from kstreamy.serdes import Bytes, Json, Long, String

    try:
        from kstreamy import StreamsBuilder
    except ImportError:  # until kstreamy/__init__ re-exports the DSL (API.md's home for it)
        from kstreamy.dsl import StreamsBuilder

    if workload in ("W3", "W4"):
        from apps.shopping_cart import topology as cart_topology

        original = cart_topology.JsonValueSerde
        if not issubclass(original, FirstConsumedSerde):

            class MarkedJson(FirstConsumedSerde):
                def __init__(self) -> None:
                    super().__init__(original())

            # build_topology makes its JsonValueSerde instances by name: hand it the marked one.
            cart_topology.JsonValueSerde = MarkedJson  # type: ignore[misc,assignment]
        return cart_topology.build_topology(
            {"cart.events.topic": source, "products.topic": products, "cart.details.topic": output}
        )
    b = StreamsBuilder()
    if workload == "W1":
        (
            b.stream(source, key_serde=String(), value_serde=FirstConsumedSerde(Json()))
            .filter(lambda k, v: w1_keep(v))
            .map(lambda k, v: (k, w1_map(v)))
            .to(output, key_serde=String(), value_serde=Json())
        )
    else:  # W2
        (
            b.stream(source, key_serde=String(), value_serde=FirstConsumedSerde(Bytes()))
            .group_by_key()
            .count(store="counts")
            .to_stream()
            .to(output, key_serde=String(), value_serde=Long())
        )
    return b.build()


def build(args: Any) -> tuple[Any, dict[str, Any]]:
    """The topology (or, for several worker processes, its factory) and the config."""
    threads = int(os.environ.get("KSTREAMY_BENCH_THREADS", "1"))
    config: dict[str, Any] = {
        "application.id": args.app_id,
        "bootstrap.servers": args.bootstrap,
        "processing.guarantee": args.guarantee,
        "commit.interval.ms": args.commit_interval_ms,
        "state.dir": args.state_dir,
        "num.stream.threads": threads,
        "consumer.auto.offset.reset": "earliest",
    }
    factory = functools.partial(topology_for, args.workload, args.input, args.products, args.output)
    topology = factory() if threads == 1 else factory
    if args.workload in ("W3", "W4"):
        from apps.shopping_cart.topology import streams_config

        config = streams_config(
            args.bootstrap, state_dir=args.state_dir, guarantee=args.guarantee, extra=config
        )
    return topology, config


def _install_thread_profiling(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    original_run = threading.Thread.run

    def profiled_run(self: threading.Thread) -> None:
        prof = cProfile.Profile()
        _PROFILES.append((self.name, prof))
        prof.enable()
        try:
            original_run(self)
        finally:
            prof.disable()

    threading.Thread.run = profiled_run  # type: ignore[method-assign]


def _dump_profiles(directory: Path) -> None:
    for i, (name, prof) in enumerate(_PROFILES):
        prof.disable()
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
        prof.dump_stats(str(directory / f"{i:02d}-{safe}.prof"))


def main() -> None:
    args = parse_args()
    profile_dir = os.environ.get("KSTREAMY_BENCH_PROFILE")
    main_prof: cProfile.Profile | None = None
    if profile_dir:
        _install_thread_profiling(Path(profile_dir))
        main_prof = cProfile.Profile()
        _PROFILES.append(("main", main_prof))
        main_prof.enable()
    try:
        from kstreamy import KafkaStreams
    except ImportError:  # until kstreamy/__init__ re-exports the runtime
        from kstreamy.runtime.app import KafkaStreams

    topology, config = build(args)
    app = KafkaStreams(topology, config)
    stop = threading.Event()

    def on_error(exc: BaseException) -> Any:
        protocol.emit(protocol.ERROR, message=f"{type(exc).__name__}: {exc}")
        stop.set()
        return None

    def on_state(new: Any, old: Any) -> None:
        # Worker processes (KSTREAMY_BENCH_THREADS > 1) report failures as the ERROR state.
        if getattr(new, "name", str(new)) == "ERROR":
            protocol.emit(protocol.ERROR, message=f"application state {old} -> {new}")
            stop.set()

    app.set_uncaught_exception_handler(on_error)
    app.set_state_listener(on_state)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    app.start()
    protocol.emit(protocol.READY)
    while not stop.wait(0.5):
        pass
    app.close(timeout=20)
    if profile_dir:
        _dump_profiles(Path(profile_dir))


if __name__ == "__main__":
    main()
