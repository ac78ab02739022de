"""DSL topologies give the same final results on Kafka as through the TopologyTestDriver."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kstreamy.runtime.app import KafkaStreams, State
from kstreamy.serdes import Json, Long, String
from kstreamy.testing.driver import TopologyTestDriver
from kstreamy.testing.kafka import KafkaTestClient, consume, unique_topic

from . import dsl_topologies
from .conftest import wait_until

LINES = ["the quick brown fox", "the lazy dog", "quick quick dog", "a fox"] * 4
PRODUCTS = [("p1", {"price": 3}), ("p2", {"price": 10}), ("p3", {"price": 7})]
EVENTS = [("c1", {"product": "p1", "qty": 2}), ("c2", {"product": "p2", "qty": 1}),
          ("c1", {"product": "p3", "qty": 1}), ("c3", {"product": "p9", "qty": 5}),
          ("c2", {"product": "p1", "qty": 4}), ("c1", {"product": "p2", "qty": 1})]  # fmt: skip


def _config(client: KafkaTestClient, tmp_path: Path, prefix: str) -> dict[str, Any]:
    return {
        "application.id": unique_topic(prefix),
        "bootstrap.servers": client.bootstrap,
        "state.dir": str(tmp_path),
        "commit.interval.ms": 200,
    }


def _run_until(app: KafkaStreams, check: Any, what: str) -> None:
    try:
        app.start()
        wait_until(lambda: app.state is State.RUNNING, 30, "RUNNING")
        wait_until(check, 40, what)
    finally:
        assert app.close(timeout=30)


@pytest.mark.kafka
@pytest.mark.timeout(90)
def test_dsl_word_count_matches_driver(kafka_client: KafkaTestClient, tmp_path: Path) -> None:
    with TopologyTestDriver(dsl_topologies.word_count("in", "out")) as driver:
        driver.create_input_topic("in", String(), String()).pipe_value_list(LINES)
        expected = driver.create_output_topic("out", String(), Long()).read_key_values_to_map()
    source, sink = unique_topic("dwc-in"), unique_topic("dwc-out")
    kafka_client.create_topic(source, partitions=2)
    kafka_client.create_topic(sink)
    kafka_client.produce(source, [(None, line) for line in LINES])
    app = KafkaStreams(
        dsl_topologies.word_count(source, sink), _config(kafka_client, tmp_path, "dwc")
    )
    seen: dict[str, int] = {}

    def done() -> bool:
        for r in consume(kafka_client.bootstrap, sink, None, timeout=20, key_serde=String(),
                         value_serde=Long()):  # fmt: skip
            seen[r.key] = r.value
        return seen == expected

    _run_until(app, done, "the driver's final counts")
    assert expected["quick"] == 12


@pytest.mark.kafka
@pytest.mark.timeout(90)
def test_dsl_cart_with_global_table_matches_driver(
    kafka_client: KafkaTestClient, tmp_path: Path
) -> None:
    with TopologyTestDriver(dsl_topologies.cart("events", "products", "out")) as driver:
        driver.create_input_topic("products", String(), Json()).pipe_key_value_list(PRODUCTS)
        driver.create_input_topic("events", String(), Json()).pipe_key_value_list(EVENTS)
        expected = driver.create_output_topic("out", String(), Json()).read_key_values_to_map()
    events, products, sink = (unique_topic(p) for p in ("cart-ev", "cart-prod", "cart-out"))
    kafka_client.create_topic(events, partitions=2)
    kafka_client.create_topic(products, partitions=2)
    kafka_client.create_topic(sink)
    kafka_client.produce(products, PRODUCTS, key_serde=String(), value_serde=Json())
    kafka_client.produce(events, EVENTS, key_serde=String(), value_serde=Json())
    app = KafkaStreams(
        dsl_topologies.cart(events, products, sink), _config(kafka_client, tmp_path, "cart")
    )
    seen: dict[str, Any] = {}

    def done() -> bool:
        for r in consume(kafka_client.bootstrap, sink, None, timeout=20, key_serde=String(),
                         value_serde=Json()):  # fmt: skip
            seen[r.key] = r.value
        return seen == expected

    _run_until(app, done, "the driver's final carts")
    assert expected == {"c1": {"items": 4, "total": 23}, "c2": {"items": 5, "total": 22}}
