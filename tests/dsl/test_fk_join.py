"""Foreign-key table-table joins (rules from Kafka's KTableKTableForeignKeyJoin tests)."""

from __future__ import annotations

from typing import Any

import pytest

from kstreamy.dsl import StreamsBuilder
from kstreamy.serdes import Json, String
from kstreamy.testing.driver import TopologyTestDriver

S, J = String(), Json()


def topology(left: bool, store: str | None = None) -> Any:
    b = StreamsBuilder()
    orders = b.table("orders", S, J)
    customers = b.table("customers", S, S)
    op = orders.left_join if left else orders.join
    op(
        customers,
        lambda o, c: f"{o['item']}@{c}",
        foreign_key=lambda o: o.get("customer"),
        store=store,
        value_serde=S,
        name="order-customer",
    ).to_stream().to("out", S, S)
    return b.build()


def out(d: TopologyTestDriver) -> list[tuple[Any, Any]]:
    return d.create_output_topic("out", S, S).read_key_values_to_list()


@pytest.mark.parametrize("left", [False, True])
def test_fk_join_subscribe_update_and_unsubscribe(left: bool) -> None:
    """Kafka rules: a left row joins the right row its foreign key names; right updates reach
    every subscribed left row; when the foreign key changes the row unsubscribes from the old
    key (later updates of it no longer reach the row); a left delete emits a tombstone."""
    with TopologyTestDriver(topology(left, "joined")) as d:
        orders = d.create_input_topic("orders", S, J)
        customers = d.create_input_topic("customers", S, S)
        orders.pipe_input("o1", {"item": "pen", "customer": "c1"}, 1)
        # a new row of an inner join without a match emits nothing
        assert out(d) == ([("o1", "pen@None")] if left else [])
        customers.pipe_input("c1", "Ann", 2)
        assert out(d) == [("o1", "pen@Ann")]
        orders.pipe_input("o2", {"item": "ink", "customer": "c1"}, 3)
        assert out(d) == [("o2", "ink@Ann")]
        customers.pipe_input("c1", "Anna", 4)
        assert sorted(out(d)) == [("o1", "pen@Anna"), ("o2", "ink@Anna")]
        customers.pipe_input("c2", "Bob", 5)
        assert out(d) == []
        orders.pipe_input("o1", {"item": "pen", "customer": "c2"}, 6)  # foreign key changes
        assert out(d) == [("o1", "pen@Bob")]
        customers.pipe_input("c1", "Annie", 7)  # o1 unsubscribed from c1
        assert out(d) == [("o2", "ink@Annie")]
        customers.pipe_input("c2", None, 8)
        assert out(d) == ([("o1", "pen@None")] if left else [("o1", None)])
        orders.pipe_input("o2", None, 9)
        assert out(d) == [("o2", None)]
        assert d.get_key_value_store("joined").get("o2") is None


def test_fk_join_null_foreign_key() -> None:
    """A new left row without a foreign key: the inner join skips it, the left join joins it
    with null."""
    for left, expected in ((False, []), (True, [("o1", "pen@None")])):
        with TopologyTestDriver(topology(left)) as d:
            d.create_input_topic("orders", S, J).pipe_input("o1", {"item": "pen"}, 1)
            assert out(d) == expected


def test_fk_join_internal_topics_are_named_from_the_name() -> None:
    topo = topology(False)
    assert {
        "order-customer-subscription-registration-topic",
        "order-customer-subscription-response-topic",
    } <= topo.internal_topics
    assert "order-customer-subscription-store" in topo.store_builders


def test_inner_fk_join_retracts_when_the_new_foreign_key_has_no_match() -> None:
    """Foreign key changes to a key without a right row: the inner join retracts the old result
    (tombstone) instead of keeping a stale join."""
    with TopologyTestDriver(topology(False)) as d:
        d.create_input_topic("customers", S, S).pipe_input("c1", "Ann", 0)
        orders = d.create_input_topic("orders", S, J)
        orders.pipe_input("o1", {"item": "pen", "customer": "c1"}, 1)
        assert out(d) == [("o1", "pen@Ann")]
        orders.pipe_input("o1", {"item": "pen", "customer": "c9"}, 2)
        assert out(d) == [("o1", None)]
