"""A kstreamy app run as a subprocess by the exactly-once chaos test (SIGKILLed on purpose).

Usage: python eos_chaos_app.py BOOTSTRAP APP_ID INPUT PASS_THROUGH AGGREGATES STATE_DIR
Input records are (key, unique integer id as text). Every record goes unchanged to PASS_THROUGH,
and per key a changelogged aggregate [count, sum of ids] goes to AGGREGATES, under
exactly_once_v2. The pass-through path is throttled (at most ~20k records/s) so the test's kills
land mid-stream even on a fast machine. Prints "RUNNING" once the client runs.
"""

from __future__ import annotations

import logging
import sys
import time

from kstreamy.dsl import StreamsBuilder
from kstreamy.runtime.app import KafkaStreams, State
from kstreamy.serdes import Json, String
from kstreamy.topology import Topology

THROTTLE_EVERY = 20
"""Sleep 1 ms after this many records: caps the rate at ~20k records/s."""


class _Throttle:
    """Counts records and sleeps briefly every THROTTLE_EVERY of them."""

    def __init__(self) -> None:
        self.seen = 0

    def __call__(self, _key: str, _value: str) -> None:
        self.seen += 1
        if self.seen % THROTTLE_EVERY == 0:
            time.sleep(0.001)


def _add(_key: str, value: str, agg: list[int]) -> list[int]:
    return [agg[0] + 1, agg[1] + int(value)]


def topology(source: str, pass_through: str, aggregates: str) -> Topology:
    """Pass every record through, and aggregate [count, sum] per key into a changelogged store."""
    b = StreamsBuilder()
    stream = b.stream(source, key_serde=String(), value_serde=String()).peek(_Throttle())
    stream.to(pass_through, key_serde=String(), value_serde=String())
    (
        stream.group_by_key(key_serde=String(), value_serde=String())
        .aggregate(lambda: [0, 0], _add, store="count-sum", value_serde=Json())
        .to_stream()
        .to(aggregates, key_serde=String(), value_serde=Json())
    )
    return b.build()


def _alive(app: KafkaStreams) -> bool:
    """Still processing (a function, so the type checker does not narrow ``app.state``)."""
    return app.state in (State.RUNNING, State.REBALANCING)


def main() -> None:
    bootstrap, app_id, source, pass_through, aggregates, state_dir = sys.argv[1:7]
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(asctime)s app %(name)s: %(message)s"
    )
    app = KafkaStreams(
        topology(source, pass_through, aggregates),
        {
            "application.id": app_id,
            "bootstrap.servers": bootstrap,
            "processing.guarantee": "exactly_once_v2",
            "state.dir": state_dir,
            "commit.interval.ms": 100,
        },
    )
    app.install_signal_handlers()
    app.start()
    while app.state is not State.RUNNING:
        if app.state in (State.ERROR, State.NOT_RUNNING):
            sys.exit(f"app ended in {app.state}")
        time.sleep(0.05)
    print("RUNNING", flush=True)
    while _alive(app):
        time.sleep(0.1)
    app.close(timeout=20)


if __name__ == "__main__":
    main()
