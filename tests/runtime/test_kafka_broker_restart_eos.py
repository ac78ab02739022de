"""Issue #5's broker-restart acceptance under exactly_once_v2: the broker is stopped and started
again while the application processes (and while input is still being produced); the client
reconnects and carries on, the read_committed pass-through output holds every input exactly once
and the aggregates are exact. (test_kafka_broker_restart.py covers at-least-once, where
duplicates are allowed.) Uses its own broker, since it stops it."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer

from kstreamy.broker import DevBroker
from kstreamy.broker.config import free_port
from kstreamy.runtime.app import KafkaStreams, State
from kstreamy.serdes import Json, String
from kstreamy.testing.kafka import consume, create_topics, unique_topic

from .conftest import wait_until
from .eos_chaos_app import topology

PRODUCED_FIRST = 10_000
"""Input written before the app starts (it is still processing it when the broker stops)."""
PRODUCED_DURING = 5_000
"""Input written by a thread across the broker restart (~2 ms apart)."""
N = PRODUCED_FIRST + PRODUCED_DURING
KEYS = 100


def _key(i: int) -> str:
    return f"k{i % KEYS}"


@pytest.mark.kafka
@pytest.mark.slow
@pytest.mark.timeout(240)
def test_broker_restart_under_exactly_once_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    broker = DevBroker(tmp_path / "broker", free_port())
    bootstrap = broker.start(tie_to_parent=True, any_port=True)
    app: KafkaStreams | None = None
    try:
        src, out, agg = unique_topic("bre-in"), unique_topic("bre-out"), unique_topic("bre-agg")
        create_topics(bootstrap, {src: 3, out: 3, agg: 3})
        producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
        for i in range(PRODUCED_FIRST):
            producer.produce(src, str(i).encode(), _key(i).encode())
            producer.poll(0)
        assert producer.flush(60) == 0
        app = KafkaStreams(
            topology(src, out, agg),
            {
                "application.id": unique_topic("bre-app"),
                "bootstrap.servers": bootstrap,
                "processing.guarantee": "exactly_once_v2",
                "state.dir": str(tmp_path / "state"),
                "commit.interval.ms": 100,
            },
        )
        app.start()
        wait_until(lambda: app is not None and app.state is State.RUNNING, 60, "RUNNING")

        def produce_more() -> None:
            for i in range(PRODUCED_FIRST, N):
                producer.produce(src, str(i).encode(), _key(i).encode())
                producer.poll(0)
                time.sleep(0.002)
            producer.flush(120)

        thread = threading.Thread(target=produce_more)
        thread.start()
        # Stop the broker once output is committed, while input still arrives (mid-stream).
        wait_until(lambda: len(consume(bootstrap, out, None, timeout=30)) > 0, 60, "some output")
        broker.stop()
        time.sleep(3)
        broker.start(tie_to_parent=True)  # same directory and port: the data survives
        thread.join(120)
        # flush, not len(): len() also counts unserved events (the client's "broker down"
        # errors queued during the restart), which only a poll/flush serves
        assert not thread.is_alive() and producer.flush(60) == 0

        def all_out() -> bool:
            assert app is not None and app.state in (State.RUNNING, State.REBALANCING), (
                f"the application went to {app and app.state} after the broker restart"
            )
            return len(consume(bootstrap, out, None, timeout=30)) >= N

        wait_until(all_out, 120, f"all {N} inputs in the read_committed output")
        time.sleep(1.0)  # a duplicate written after the last commit would be committed by now
        records = consume(bootstrap, out, None, timeout=60)
        ids = Counter(int(r.value) for r in records)
        duplicated = sorted(i for i, n in ids.items() if n > 1)
        assert not duplicated, f"{len(duplicated)} inputs appear twice, e.g. {duplicated[:10]}"
        assert sorted(ids) == list(range(N))
        latest: dict[Any, Any] = {}
        for r in consume(bootstrap, agg, None, timeout=60, key_serde=String(), value_serde=Json()):
            latest[r.key] = r.value
        expected = {_key(k): [0, 0] for k in range(KEYS)}
        for i in range(N):
            expected[_key(i)][0] += 1
            expected[_key(i)][1] += i
        assert latest == expected
        assert app.state is State.RUNNING
    finally:
        if app is not None:
            app.close(timeout=30)
        broker.stop()
