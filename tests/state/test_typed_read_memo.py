"""The typed store's read memo: a deeply immutable value decoded from equal bytes is shared
(a GlobalKTable's product decodes once), a mutable one is decoded fresh on every read."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kstreamy.serdes import String
from kstreamy.state.api import ValueAndTimestamp
from kstreamy.state.stores import Stores
from kstreamy.state.testing import FakeStoreContext
from kstreamy.state.typed import deeply_immutable


@dataclass(frozen=True, slots=True)
class Price:
    item: str
    amount: Decimal


@dataclass(frozen=True)
class Holder:
    items: list[str]


@dataclass
class Mutable:
    item: str


class CountingSerde:
    """JSON, as a frozen ``Price`` when ``frozen`` else a dict; counts decodes."""

    def __init__(self, frozen: bool) -> None:
        self.frozen = frozen
        self.decodes = 0

    def serialize(self, topic: str, obj: Any) -> bytes | None:
        if obj is None:
            return None
        data = {"item": obj.item, "amount": str(obj.amount)} if self.frozen else obj
        return json.dumps(data).encode()

    def deserialize(self, topic: str, data: bytes | None) -> Any:
        if data is None:
            return None
        self.decodes += 1
        value = json.loads(data)
        return Price(value["item"], Decimal(value["amount"])) if self.frozen else value


def open_store(serde: CountingSerde, timestamped: bool = False) -> Any:
    builder = (
        Stores.timestamped_key_value("s", String(), serde, persistent=False)
        if timestamped
        else Stores.key_value("s", String(), serde, persistent=False)
    )
    store = builder.build()
    store.init(FakeStoreContext(), store)
    return store


def test_immutable_values_from_equal_bytes_decode_once() -> None:
    serde = CountingSerde(frozen=True)
    store = open_store(serde)
    store.put("a", Price("a", Decimal("1.50")))
    store.put("b", Price("a", Decimal("1.50")))  # equal bytes under another key
    first, second, third = store.get("a"), store.get("a"), store.get("b")
    assert first == second == third == Price("a", Decimal("1.50"))
    assert serde.decodes == 1
    store.put("a", Price("a", Decimal("2.00")))  # new bytes: decoded, never the stale object
    assert store.get("a") == Price("a", Decimal("2.00")) and serde.decodes == 2
    assert store.get("b") == Price("a", Decimal("1.50"))


def test_timestamped_immutable_values_are_shared_with_their_timestamp() -> None:
    serde = CountingSerde(frozen=True)
    store = open_store(serde, timestamped=True)
    store.put("a", ValueAndTimestamp(Price("a", Decimal("3")), 10))
    assert store.get("a") == store.get("a") == ValueAndTimestamp(Price("a", Decimal("3")), 10)
    assert serde.decodes == 1
    store.put("a", ValueAndTimestamp(Price("a", Decimal("3")), 11))  # same value, new time
    assert store.get("a") == ValueAndTimestamp(Price("a", Decimal("3")), 11)


def test_mutable_values_are_decoded_fresh_on_every_read() -> None:
    serde = CountingSerde(frozen=False)
    store = open_store(serde)
    store.put("a", {"item": "a", "lines": [1]})
    for _ in range(40):  # past the point where the memo gives up on this store
        value = store.get("a")
        value["lines"].append(2)  # a reader mutating its copy changes nothing stored
    assert store.get("a") == {"item": "a", "lines": [1]}
    assert serde.decodes == 41


def test_deeply_immutable() -> None:
    assert deeply_immutable(("a", 1, 2.5, None, b"x", Decimal(1), frozenset({1})))
    assert deeply_immutable(ValueAndTimestamp(Price("a", Decimal(1)), 5))
    assert not deeply_immutable(ValueAndTimestamp({"a": 1}, 5))
    assert not deeply_immutable(("a", [1]))
    assert not deeply_immutable(Holder(["x"]))  # frozen, but holds a list
    assert not deeply_immutable(Mutable("x"))
    assert not deeply_immutable({"a": 1}) and not deeply_immutable([1])


def test_flat_containers_decode_once_and_every_reader_gets_its_own_copy() -> None:
    serde = CountingSerde(frozen=False)
    store = open_store(serde, timestamped=True)
    store.put("p", ValueAndTimestamp({"price": 7, "name": "x"}, 5))
    store.put("l", ValueAndTimestamp([1, "a", None], 6))
    for _ in range(40):  # far past the give-up count for values that are not flat
        product = store.get("p")
        assert product == ValueAndTimestamp({"price": 7, "name": "x"}, 5)
        product.value["price"] = 99  # a reader mutating its copy changes nothing stored
        listed = store.get("l")
        assert listed == ValueAndTimestamp([1, "a", None], 6)
        listed.value.append(2)
    assert serde.decodes == 2
    store.put("p", ValueAndTimestamp({"price": 8, "name": "x"}, 5))  # new bytes: decoded
    assert store.get("p") == ValueAndTimestamp({"price": 8, "name": "x"}, 5)
    assert serde.decodes == 3


def test_flat_plain_dict_values_are_copied() -> None:
    serde = CountingSerde(frozen=False)
    store = open_store(serde)
    store.put("a", {"a": 1})
    first = store.get("a")
    first["a"] = 2
    assert store.get("a") == {"a": 1} and store.get("a") is not store.get("a")
    assert serde.decodes == 1
