"""Event, command and product parsing: every rejection names its reason."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import pytest

from apps.shopping_cart.events import (
    CartEvent,
    EventType,
    InvalidEvent,
    InvalidProduct,
    Product,
    command_to_event,
    decode_event,
    decode_product,
    parse_event,
    parse_price,
    parse_product,
    render_money,
)

EID = "0b9a3f5e-8f0b-4d7e-9b1e-3f1f4c2a9d10"


def event(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "eventId": EID,
        "type": "ITEM_ADDED",
        "ts": 1_700_000_000_000,
        "v": 1,
        "customerId": "123",
        "itemId": "1",
        "qty": 2,
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not ...}


def test_parse_item_added() -> None:
    e = parse_event(event())
    assert e == CartEvent(EID, EventType.ITEM_ADDED, "123", 1_700_000_000_000, "1", 2)
    assert e.is_item_event


def test_round_trip_through_bytes() -> None:
    e = parse_event(event(type="ITEM_REMOVED", qty=...))
    assert e.qty is None
    assert decode_event(e.to_bytes()) == e


def test_remove_without_qty_means_whole_line() -> None:
    assert parse_event(event(type="ITEM_REMOVED", qty=...)).qty is None
    assert parse_event(event(type="ITEM_REMOVED", qty=None)).qty is None
    assert parse_event(event(type="ITEM_REMOVED", qty=3)).qty == 3


@pytest.mark.parametrize("etype", ["CART_CLEARED", "CHECKED_OUT"])
def test_cart_level_events(etype: str) -> None:
    e = parse_event(event(type=etype, itemId=..., qty=...))
    assert e.type == EventType(etype) and e.item_id is None and not e.is_item_event


def test_event_id_is_canonicalised() -> None:
    assert parse_event(event(eventId=EID.upper())).event_id == EID


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"type": "ADD_ITEM"}, "unknown event type 'ADD_ITEM'"),
        ({"type": ...}, "missing field 'type'"),
        ({"v": 2}, "unsupported schema version v=2"),
        ({"v": ...}, "field 'v'"),
        ({"eventId": ...}, "missing field 'eventId'"),
        ({"eventId": "nope"}, "not a UUID"),
        ({"eventId": 5}, "must be a UUID string"),
        ({"ts": -1}, "field 'ts'"),
        ({"ts": "now"}, "field 'ts'"),
        ({"customerId": ...}, "missing field 'customerId'"),
        ({"customerId": 123}, "'customerId' must be a string, got int"),
        ({"customerId": ""}, "'customerId' must be non-empty"),
        ({"customerId": "x" * 257}, "longer than 256"),
        ({"itemId": ...}, "missing field 'itemId'"),
        ({"qty": ...}, "missing field 'qty'"),
        ({"qty": 0}, "between 1 and 1000, got 0"),
        ({"qty": -3}, "between 1 and 1000, got -3"),
        ({"qty": 1001}, "between 1 and 1000, got 1001"),
        ({"qty": 1.5}, "'qty' must be an integer, got float"),
        ({"qty": True}, "'qty' must be an integer, got bool"),
        ({"qty": "2"}, "'qty' must be an integer, got str"),
        ({"extra": 1}, "unknown field(s) for ITEM_ADDED: extra"),
    ],
)
def test_invalid_events(override: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidEvent) as info:
        parse_event(event(**override))
    assert reason in str(info.value)


def test_cart_level_event_with_item_fields_is_rejected() -> None:
    with pytest.raises(InvalidEvent, match="unknown field"):
        parse_event(event(type="CHECKED_OUT"))


@pytest.mark.parametrize("value", [b"not json", b"\xff\xfe", b"[1, 2]", b"null", b"42"])
def test_decode_event_rejects_non_objects(value: bytes) -> None:
    with pytest.raises(InvalidEvent):
        decode_event(value)


def test_command_add_makes_event_with_fresh_id() -> None:
    e = command_to_event("add", {"customerId": "123", "itemId": "1", "qty": 1}, ts=5)
    assert e.type is EventType.ITEM_ADDED and e.ts == 5 and e.qty == 1
    assert uuid.UUID(e.event_id).version == 4


def test_command_keeps_client_event_id() -> None:
    e = command_to_event("checkout", {"customerId": "9", "eventId": EID})
    assert e.event_id == EID and e.type is EventType.CHECKED_OUT


@pytest.mark.parametrize(
    ("command", "body", "reason"),
    [
        ("add", [], "must be a JSON object"),
        ("add", {"customerId": "1", "itemId": "1"}, "missing field 'qty'"),
        ("add", {"customerId": "1", "qty": 1}, "missing field 'itemId'"),
        ("add", {"customerId": "1", "itemId": "1", "qty": 0}, "between 1 and 1000"),
        ("add", {"customerId": "1", "itemId": "1", "qty": 1, "x": 1}, "unknown field"),
        ("remove", {"customerId": "1", "itemId": "1", "qty": None}, "must be an integer"),
        ("clear", {"customerId": "1", "itemId": "1"}, "unknown field(s) for /clear: itemId"),
        ("checkout", {}, "missing field 'customerId'"),
        ("checkout", {"customerId": "1", "eventId": "x"}, "not a UUID"),
    ],
)
def test_invalid_commands(command: str, body: Any, reason: str) -> None:
    with pytest.raises(InvalidEvent) as info:
        command_to_event(command, body)
    assert reason in str(info.value)


def test_parse_product_from_seed() -> None:
    raw = b'{"productId":"1","productName":"IPhone 12","price":"65000","stockQty":768}'
    p = decode_product(raw)
    assert p == Product("1", "IPhone 12", Decimal("65000.00"), 768)
    assert json.loads(p.to_bytes())["price"] == "65000.00"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("19.99", "19.99"), (19.99, "19.99"), (5, "5.00"), ("0", "0.00"), (" 7.5 ", "7.50")],
)
def test_prices_are_exact(value: Any, expected: str) -> None:
    assert render_money(parse_price(value)) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("abc", "not a decimal number"),
        ("NaN", "must be finite"),
        ("Infinity", "must be finite"),
        ("-1", "must not be negative"),
        ("1.234", "more than 2 decimal places"),
        (True, "got bool"),
        (None, "got NoneType"),
        ("1e12", "at most"),
    ],
)
def test_bad_prices(value: Any, reason: str) -> None:
    with pytest.raises(InvalidProduct) as info:
        parse_price(value)
    assert reason in str(info.value)


def test_csv_stock_qty_is_converted_only_from_text() -> None:
    row = {"productId": "1", "productName": "A", "price": "1", "stockQty": "4"}
    assert parse_product(row, from_text=True).stock_qty == 4
    with pytest.raises(InvalidProduct, match="stockQty"):
        parse_product(row)


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"productId": ...}, "missing field 'productId'"),
        ({"productName": ""}, "'productName' must be non-empty"),
        ({"price": ...}, "missing field 'price'"),
        ({"stockQty": -1}, "'stockQty' must be a non-negative integer"),
        ({"stockQty": ...}, "missing field 'stockQty'"),
        ({"colour": "red"}, "unknown field(s) for a product: colour"),
    ],
)
def test_invalid_products(override: dict[str, Any], reason: str) -> None:
    base: dict[str, Any] = {"productId": "1", "productName": "A", "price": "1", "stockQty": 1}
    base.update(override)
    with pytest.raises(InvalidProduct) as info:
        parse_product({k: v for k, v in base.items() if v is not ...})
    assert reason in str(info.value)
