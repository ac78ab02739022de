"""DSL topologies (StreamsBuilder) used by the runtime tests; rebuilt fresh for each run."""

from __future__ import annotations

from kstreamy.dsl import StreamsBuilder
from kstreamy.serdes import Json, Long, Serde, String
from kstreamy.topology import Topology


def word_count(source: str, sink: str) -> Topology:
    b = StreamsBuilder()
    (
        b.stream(source, key_serde=String(), value_serde=String())
        .flat_map_values(lambda line: line.lower().split())
        .group_by(lambda _k, word: word, key_serde=String(), value_serde=String())
        .count(store="word-counts")
        .to_stream()
        .to(sink, key_serde=String(), value_serde=Long())
    )
    return b.build()


def cart(events: str, products: str, sink: str, value_serde: Serde | None = None) -> Topology:
    """Cart events (cart id -> {"product", "qty"}) priced by a GlobalKTable of products
    (id -> {"price"}), aggregated per cart into {"items", "total"}; values in JSON unless
    `value_serde` says otherwise (e.g. MsgPack, the format of the issue's hand-written loop)."""
    b = StreamsBuilder()
    serde: Serde = value_serde or Json()
    catalog = b.global_table(products, key_serde=String(), value_serde=serde)
    priced = b.stream(events, key_serde=String(), value_serde=serde).join(
        catalog,
        lambda event, product: {"qty": event["qty"], "price": product["price"]},
        key_mapper=lambda _cart, event: event["product"],
    )
    (
        priced.group_by_key(key_serde=String(), value_serde=serde)
        .aggregate(
            lambda: {"items": 0, "total": 0},
            lambda _k, line, agg: {
                "items": agg["items"] + line["qty"],
                "total": agg["total"] + line["qty"] * line["price"],
            },
            store="carts",
            value_serde=serde,
        )
        .to_stream()
        .to(sink, key_serde=String(), value_serde=serde)
    )
    return b.build()
