"""Operator processors in isolation, with a recording context."""

from __future__ import annotations

from typing import Any

from kstreamy._internal.tables import ChangeSerde
from kstreamy.processor import Record
from kstreamy.processors.aggregate import KTableRepartitionMap
from kstreamy.processors.fk_join import value_hash
from kstreamy.processors.stateless import Branch, FlatMapValues
from kstreamy.processors.table import Change
from kstreamy.serdes import String


class Ctx:
    def __init__(self) -> None:
        self.out: list[tuple[Any, Any, int, str | None]] = []

    def forward(self, record: Record[Any, Any], child_name: str | None = None) -> None:
        self.out.append((record.key, record.value, record.timestamp, child_name))


def run(proc: Any, *records: Record[Any, Any]) -> list[tuple[Any, Any, int, str | None]]:
    ctx = Ctx()
    proc.init(ctx)
    for r in records:
        proc.process(r)
    return ctx.out


def test_repartition_map_sends_one_combined_change_when_the_key_is_unchanged() -> None:
    """KIP-904: same new and old group key -> one Change(new, old); else old then new."""
    proc = KTableRepartitionMap(lambda k, v: (v[0], v))
    assert run(proc, Record("k", Change("ab", "ax"), 5)) == [("a", Change("ab", "ax"), 5, None)]
    assert run(proc, Record("k", Change("bb", "ax"), 6)) == [
        ("a", Change(None, "ax"), 6, None),
        ("b", Change("bb", None), 6, None),
    ]


def test_branch_routes_to_the_first_match_or_the_default() -> None:
    proc = Branch([lambda k, v: v > 1, lambda k, v: v > 0], ["big", "small"], "rest")
    out = run(proc, Record("a", 5, 0), Record("b", 1, 0), Record("c", 0, 0))
    assert [o[3] for o in out] == ["big", "small", "rest"]


def test_flat_map_values_keeps_key_and_timestamp() -> None:
    assert run(FlatMapValues(lambda v: [v, v]), Record("k", 1, 9)) == [
        ("k", 1, 9, None),
        ("k", 1, 9, None),
    ]


def test_change_serde_round_trip() -> None:
    serde = ChangeSerde(String())
    for change in (Change("n", "o"), Change(None, "o"), Change("n", None), Change("", "")):
        data = serde.serialize("t", change)
        assert serde.deserialize("t", data) == change
    assert serde.serialize("t", None) is None


def test_value_hash_is_stable_and_none_for_none() -> None:
    assert value_hash({"a": 1}) == value_hash({"a": 1}) != value_hash({"a": 2})
    assert value_hash(None) is None
