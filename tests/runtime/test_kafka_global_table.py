"""A global store (GlobalKTable-like) on Kafka: fully loaded before RUNNING, kept up to date, and
the same final results as the TopologyTestDriver for the same input."""

from __future__ import annotations

from pathlib import Path

import pytest

from kstreamy.runtime.app import KafkaStreams, State
from kstreamy.serdes import Long, String
from kstreamy.testing.driver import TopologyTestDriver
from kstreamy.testing.kafka import KafkaTestClient, consume, unique_topic

from .conftest import wait_until
from .topologies import cart_totals

PRICES = [("apple", 3), ("pear", 5), ("fig", 7)]
ORDERS = [("ann", "apple:2"), ("bob", "pear:1"), ("ann", "fig:1"), ("cy", "kiwi:9"),
          ("bob", "apple:4"), ("cy", "pear:2")]  # fmt: skip
NEW_PRICES = [("kiwi", 11), ("apple", 10)]
MORE_ORDERS = [("cy", "kiwi:1"), ("ann", "apple:1")]


def _driver_totals() -> dict[str, int]:
    with TopologyTestDriver(cart_totals("orders", "prices", "out")) as driver:
        prices = driver.create_input_topic("prices", String(), Long())
        orders = driver.create_input_topic("orders", String(), String())
        out = driver.create_output_topic("out", String(), Long())
        prices.pipe_key_value_list(PRICES)
        orders.pipe_key_value_list(ORDERS)
        prices.pipe_key_value_list(NEW_PRICES)
        orders.pipe_key_value_list(MORE_ORDERS)
        result: dict[str, int] = out.read_key_values_to_map()
        return result


@pytest.mark.kafka
@pytest.mark.timeout(90)
def test_global_store_join_matches_driver(kafka_client: KafkaTestClient, tmp_path: Path) -> None:
    bootstrap = kafka_client.bootstrap
    orders, prices, out = (
        unique_topic("gt-orders"),
        unique_topic("gt-prices"),
        unique_topic("gt-out"),
    )
    kafka_client.create_topic(orders, partitions=2)
    kafka_client.create_topic(prices, partitions=2)
    kafka_client.create_topic(out, partitions=1)
    kafka_client.produce(prices, PRICES, key_serde=String(), value_serde=Long())
    config = {
        "application.id": unique_topic("gt-app"),
        "bootstrap.servers": bootstrap,
        "state.dir": str(tmp_path),
        "commit.interval.ms": 200,
    }
    app = KafkaStreams(cart_totals(orders, prices, out), config)
    try:
        app.start()
        wait_until(lambda: app.state is State.RUNNING, 30, "RUNNING")
        global_prices = app.store("prices")
        assert dict(global_prices.all()) == dict(PRICES)  # fully loaded before RUNNING
        kafka_client.produce(orders, ORDERS, key_serde=String(), value_serde=String())
        consume(bootstrap, out, 5, timeout=30)  # kiwi has no price yet: dropped
        kafka_client.produce(prices, NEW_PRICES, key_serde=String(), value_serde=Long())
        wait_until(lambda: global_prices.get("kiwi") == 11, 20, "global update")
        kafka_client.produce(orders, MORE_ORDERS, key_serde=String(), value_serde=String())
        records = consume(bootstrap, out, 7, timeout=30, key_serde=String(), value_serde=Long())
        on_kafka = {r.key: r.value for r in records}
    finally:
        assert app.close(timeout=30)
    assert on_kafka == _driver_totals() == {"ann": 23, "bob": 17, "cy": 21}
