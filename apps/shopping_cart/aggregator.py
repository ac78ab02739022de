"""The aggregator process: runs the cart topology on Kafka with ``KafkaStreams``.

``python -m apps.shopping_cart.aggregator [--state-dir DIR] [--bootstrap B] [--guarantee G]
[--commit-interval-ms MS]``

Under exactly_once_v2 the output becomes visible to ``read_committed`` readers (the read model)
when the transaction commits, every ``commit.interval.ms`` (default 100, as in Kafka Streams
under EOS): that interval is the main term of the POST-to-visible latency.

Exactly-once v2 by default. Creates its topics first; closes cleanly on SIGTERM/SIGINT (state
flushed and checkpointed, transaction committed or aborted), exits non-zero if the application
failed.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import Any

from apps.shopping_cart.settings import (
    add_bootstrap_arg,
    add_partitions_arg,
    log_ready,
    resolve_bootstrap,
    setup_logging,
)
from apps.shopping_cart.topics import ALL_TOPICS, ensure_topics
from apps.shopping_cart.topology import build_topology, streams_config
from kstreamy import KafkaStreams

log = logging.getLogger(__name__)


def run(
    bootstrap: str,
    *,
    state_dir: str | None,
    guarantee: str,
    stop: threading.Event,
    partitions: int = 3,
    commit_interval_ms: int | None = None,
) -> int:
    """Start the app, wait for ``stop`` (or a fatal error), close; return the exit code."""
    ensure_topics(bootstrap, ALL_TOPICS, partitions=partitions)
    extra = {} if commit_interval_ms is None else {"commit.interval.ms": commit_interval_ms}
    config = streams_config(bootstrap, state_dir=state_dir, guarantee=guarantee, extra=extra)
    app = KafkaStreams(build_topology(config), config)
    failed: list[BaseException] = []
    ready = threading.Event()

    def on_state(new: Any, old: Any) -> None:
        name = getattr(new, "name", str(new))  # kstreamy logs the transitions itself
        if name == "RUNNING" and not ready.is_set():
            ready.set()
            log_ready("aggregator", bootstrap=bootstrap, guarantee=guarantee)
        if name in ("ERROR", "NOT_RUNNING"):
            stop.set()

    def on_error(exc: BaseException) -> Any:
        log.error("aggregator failed: %s", exc, exc_info=exc)
        failed.append(exc)
        stop.set()
        return None

    app.set_state_listener(on_state)
    app.set_uncaught_exception_handler(on_error)
    app.start()
    stop.wait()
    clean = app.close(timeout=30)
    log.info("aggregator closed %s", "cleanly" if clean else "with errors")
    return 1 if failed or not clean else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apps.shopping_cart.aggregator")
    parser.add_argument("--state-dir", default=None, help="where stores live (state.dir)")
    parser.add_argument(
        "--guarantee",
        default="exactly_once_v2",
        choices=["exactly_once_v2", "at_least_once"],
        help="processing.guarantee (default exactly_once_v2)",
    )
    parser.add_argument(
        "--commit-interval-ms",
        type=int,
        default=None,
        help="commit.interval.ms (default 100): under exactly_once_v2 it bounds output visibility",
    )
    add_bootstrap_arg(parser)
    add_partitions_arg(parser)
    args = parser.parse_args(argv)
    setup_logging()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return run(
        resolve_bootstrap(args.bootstrap),
        state_dir=args.state_dir,
        guarantee=args.guarantee,
        stop=stop,
        partitions=args.partitions,
        commit_interval_ms=args.commit_interval_ms,
    )


if __name__ == "__main__":
    sys.exit(main())
