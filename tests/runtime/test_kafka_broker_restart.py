"""A broker restart while the application processes: clients reconnect, nothing is lost
(at-least-once: every input reaches the output, duplicates allowed). Uses its own broker,
since it stops it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from confluent_kafka import Producer

from kstreamy.broker import DevBroker
from kstreamy.broker.config import free_port
from kstreamy.runtime.app import KafkaStreams, State
from kstreamy.testing.kafka import consume, create_topics, unique_topic

from .conftest import wait_until
from .topologies import pass_through

N = 3000


@pytest.mark.kafka
@pytest.mark.slow
@pytest.mark.timeout(180)
def test_broker_restart_loses_nothing(tmp_path: Path) -> None:
    broker = DevBroker(tmp_path / "broker", free_port())
    bootstrap = broker.start(tie_to_parent=True, any_port=True)
    app: KafkaStreams | None = None
    try:
        src, out = unique_topic("br-in"), unique_topic("br-out")
        create_topics(bootstrap, {src: 2, out: 2})
        app = KafkaStreams(
            pass_through(src, out),
            {
                "application.id": unique_topic("br-app"),
                "bootstrap.servers": bootstrap,
                "state.dir": str(tmp_path / "state"),
                "commit.interval.ms": 200,
            },
        )
        app.start()
        wait_until(lambda: app is not None and app.state is State.RUNNING, 30, "RUNNING")
        producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})

        def produce() -> None:
            for i in range(N):
                producer.produce(src, f"v{i}".encode(), f"k{i}".encode())
                producer.poll(0)
                time.sleep(0.002)
            producer.flush(120)

        thread = threading.Thread(target=produce)
        thread.start()
        time.sleep(2)
        broker.stop()
        time.sleep(3)
        broker.start(tie_to_parent=True)  # same directory and port: the data survives
        thread.join(120)
        assert len(producer) == 0
        wanted = {f"v{i}".encode() for i in range(N)}

        def all_out() -> bool:
            values = {r.value for r in consume(bootstrap, out, None, timeout=30)}
            return wanted <= values

        wait_until(all_out, 90, "every input in the output")
        assert app.state is State.RUNNING
    finally:
        if app is not None:
            app.close(timeout=30)
        broker.stop()
