"""The aggregator's topology, built only with kstreamy's public DSL.

::

    cart-events (String key, JSON value)
      └─ parse-cart-event (map_values: JSON -> CartEvent; invalid -> processing handler -> DLQ)
          └─ split-cart-events
              ├─ item events ─ left_join(products GlobalKTable, key_mapper = itemId)
              │                 (no repartition; an unknown product joins as None and is flagged)
              └─ cart events ─ map_values (bypass the join: CLEAR/CHECKOUT have no itemId)
          merge ─ group_by_key ─ aggregate(cart.apply) into store "cart-store"
      └─ to_stream ─ map_values(public_view) ─ to(cart-details-event)

A value that is not JSON at all fails in the value serde and goes to the dead-letter topic through
``default.deserialization.exception.handler``; valid JSON that is not a valid event (unknown type,
bad qty, key != customerId) fails in processing and goes there through
``processing.exception.handler``. Both are :class:`kstreamy.errors.DeadLetterQueueHandler` on
``cart-events-dlq`` (original key and value bytes, error headers). Operators have stable names, so
store and internal topic names survive code changes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from apps.shopping_cart.cart import Cart, apply, initial_cart, public_view
from apps.shopping_cart.events import (
    CartEvent,
    InvalidProduct,
    Product,
    decode_product,
    parse_event,
)
from apps.shopping_cart.settings import (
    APPLICATION_ID,
    CART_DETAILS,
    CART_EVENTS,
    CART_STORE,
    DLQ,
    PRODUCTS,
)
from kstreamy import StreamsBuilder, Topology
from kstreamy.errors import DeadLetterQueueHandler
from kstreamy.serdes import String

# Bound once: json.dumps/loads rebuild or re-check these on every call (encoding detection,
# keyword handling); the output is byte-identical to json.dumps(obj, separators=(",", ":")).
_encode = json.JSONEncoder(separators=(",", ":")).encode
_decode = json.JSONDecoder().decode
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


class JsonValueSerde:
    """Tolerant JSON value serde: any JSON document in, raises ``ValueError`` on non-JSON bytes.

    Deliberately schema-free: the schema is checked in the processing step, so a bad event is a
    processing error (with the source record's bytes dead-lettered) rather than a serde one.
    """

    def serialize(self, topic: str, obj: Any) -> bytes | None:
        if obj is None:
            return None
        return _encode(obj).encode()

    def deserialize(self, topic: str, data: bytes | None) -> Any:
        if data is None:
            return None
        # what json.loads does for UTF-8 bytes (after ruling out UTF-16/32 and BOMs)
        if (
            data.__class__ is bytes
            and len(data) >= 4
            and data[0]
            and data[1]
            and not data.startswith(_BOMS)
        ):
            try:
                text = data.decode("utf-8", "surrogatepass")
            except UnicodeDecodeError:
                return json.loads(data)  # the very error json.loads raises
            return _decode(text)
        return json.loads(data)


class ProductSerde:
    """Products on ``product-details-events``; an invalid product reads as ``None`` (unknown).

    A bad catalogue record must never stop the stream: the item is then flagged as unknown in
    the cart (and the products loader refuses to publish such records in the first place).
    """

    def serialize(self, topic: str, obj: Any) -> bytes | None:
        if obj is None:
            return None
        if not isinstance(obj, Product):
            raise TypeError(f"ProductSerde serializes Product, got {type(obj).__name__}")
        return obj.to_bytes()

    def deserialize(self, topic: str, data: bytes | None) -> Product | None:
        if data is None:
            return None
        try:
            return decode_product(data)
        except InvalidProduct:
            return None


class CartSerde(JsonValueSerde):
    """The aggregate (a JSON-ready dict, dedup window included) in the store and its changelog."""


@dataclass(frozen=True, slots=True)
class Enriched:
    """A cart event with its product (``None``: not an item event, or an unknown product)."""

    event: CartEvent
    product: Product | None


def _parse(value: Any) -> CartEvent:
    # Raises InvalidEvent: the processing-exception handler dead-letters the source record.
    return parse_event(value)


def _is_item_event(key: str | None, event: CartEvent) -> bool:
    return event.is_item_event


def _item_id(key: str | None, event: CartEvent) -> str | None:
    return event.item_id


def _enrich(event: CartEvent, product: Product | None) -> Enriched:
    return Enriched(event, product)


def _bypass(event: CartEvent) -> Enriched:
    return Enriched(event, None)


def _initial() -> Cart:
    # Kafka's initializer has no key; the adder sets the customer from the record key.
    return initial_cart("")


def _adder(key: str, value: Enriched, cart: Cart) -> Cart:
    if not cart["customerId"]:
        cart = initial_cart(key)
    return apply(cart, value.event, value.product)


def build_topology(config: dict[str, Any] | None = None) -> Topology:
    """The aggregator topology (pure: no I/O). ``config`` may override topic and store names."""
    cfg = config or {}
    events_topic = cfg.get("cart.events.topic", CART_EVENTS)
    products_topic = cfg.get("products.topic", PRODUCTS)
    details_topic = cfg.get("cart.details.topic", CART_DETAILS)
    store = cfg.get("cart.store", CART_STORE)

    builder = StreamsBuilder()
    products = builder.global_table(
        products_topic,
        key_serde=String(),
        value_serde=ProductSerde(),
        store="products-global-store",
        name="products-table",
    )
    events = builder.stream(
        events_topic, key_serde=String(), value_serde=JsonValueSerde(), name="cart-events-source"
    )
    parsed = events.map_values(_parse, name="parse-cart-event")
    branches = (
        parsed.split(name="route-")
        .branch(_is_item_event, name="item-events")
        .default_branch(name="cart-events")
    )
    items = branches["route-item-events"].left_join(
        products, _enrich, key_mapper=_item_id, name="join-product"
    )
    cart_level = branches["route-cart-events"].map_values(_bypass, name="bypass-join")
    merged = items.merge(cart_level, name="merge-events")
    carts = merged.group_by_key(key_serde=String()).aggregate(
        _initial, _adder, store=store, value_serde=CartSerde(), name="aggregate-cart"
    )
    carts.to_stream(name="cart-updates").map_values(public_view, name="public-view").to(
        details_topic, key_serde=String(), value_serde=JsonValueSerde(), name="cart-details-sink"
    )
    return builder.build()


def streams_config(
    bootstrap: str,
    *,
    state_dir: str | None = None,
    guarantee: str = "exactly_once_v2",
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The KafkaStreams config of the aggregator (dead-lettering both error kinds)."""
    config: dict[str, Any] = {
        "application.id": APPLICATION_ID,
        "bootstrap.servers": bootstrap,
        "processing.guarantee": guarantee,
        "commit.interval.ms": 100,
        "default.deserialization.exception.handler": DeadLetterQueueHandler(DLQ),
        "processing.exception.handler": DeadLetterQueueHandler(DLQ),
    }
    if state_dir:
        config["state.dir"] = state_dir
    config.update(extra or {})
    return config
