"""A kstreamy app run as a subprocess by the exactly-once crash test (SIGKILLed on purpose).

Usage: python eos_app.py BOOTSTRAP APP_ID INPUT OUTPUT STATE_DIR [SLEEP_PER_RECORD_S]
Passes every record through (slowly, ~2k records/s, so a kill lands mid-stream) and counts the
records per key in a changelogged store; prints "RUNNING" once the client runs.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from kstreamy.processor import Processor, Record
from kstreamy.runtime.app import KafkaStreams, State
from kstreamy.serdes import Long, String
from kstreamy.state.stores import Stores
from kstreamy.topology import Topology

SLEEP = 0.0005


class SlowCount(Processor[Any, Any, Any, Any]):
    def init(self, context: Any) -> None:
        super().init(context)
        self.store = context.get_state_store("seen")

    def process(self, record: Record[Any, Any]) -> None:
        if SLEEP:
            time.sleep(SLEEP)
        self.store.put(record.key, (self.store.get(record.key) or 0) + 1)
        self.context.forward(record)


def topology(source: str, sink: str) -> Topology:
    t = Topology()
    t.add_source("in", source, key_serde=String(), value_serde=String())
    t.add_processor("count", SlowCount, "in")
    t.add_state_store(Stores.key_value("seen", String(), Long(), caching=False), "count")
    t.add_sink("out", sink, "count", key_serde=String(), value_serde=String())
    return t


def main() -> None:
    global SLEEP
    bootstrap, app_id, source, sink, state_dir = sys.argv[1:6]
    if len(sys.argv) > 6:
        SLEEP = float(sys.argv[6])
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    app = KafkaStreams(
        topology(source, sink),
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
    while app.state in (State.RUNNING, State.REBALANCING):
        time.sleep(0.1)
    app.close(timeout=20)


if __name__ == "__main__":
    main()
