"""Per-system input caps: parsing, which size a system gets, notes."""

from __future__ import annotations

import pytest

from benchmarks import caps


def test_a_cap_applies_to_every_workload_or_to_one() -> None:
    c = caps.parse("faust=50000, quix:W3=200_000")
    assert caps.records_for(c, "faust", "W1", 1_000_000) == 50_000
    assert caps.records_for(c, "quix", "W3", 500_000) == 200_000
    assert caps.records_for(c, "quix", "W4", 500_000) == 500_000
    assert caps.records_for(c, "kstreamy", "W3", 500_000) == 500_000


def test_a_workload_cap_wins_over_the_system_cap_and_a_cap_never_grows_the_input() -> None:
    c = caps.parse("faust=50000,faust:W3=10000")
    assert caps.records_for(c, "faust", "W3", 500_000) == 10_000
    assert caps.records_for(c, "faust", "W2", 500_000) == 50_000
    assert caps.records_for(c, "faust", "W2", 3_000) == 3_000


def test_none_clears_the_caps_given_before_it() -> None:
    assert caps.parse("faust=1000,none") == {}
    assert caps.parse(None) == {} and caps.parse("") == {}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("flink=1000", "system=N"),
        ("faust:W9=1000", "system=N"),
        ("faust", "system=N"),
        ("faust=lots", "is not a count"),
        ("faust=0", "must be positive"),
    ],
)
def test_a_bad_cap_is_refused_with_the_item_named(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment) as info:
        caps.parse(text)
    assert repr(text) in str(info.value)


def test_the_full_run_default_caps_faust_everywhere_and_quix_on_the_cart_workloads() -> None:
    c = caps.parse(caps.FULL_DEFAULT)
    assert {system for system, _ in c} == {"faust", "quix"}
    assert all(caps.records_for(c, "faust", w, 500_000) < 500_000 for w in ("W1", "W2", "W3", "W4"))
    assert caps.records_for(c, "quix", "W2", 500_000) == 500_000
    assert caps.records_for(c, "quix", "W4", 500_000) == 200_000
    assert caps.records_for(c, "kstreamy", "W3", 500_000) == 500_000


def test_describe_names_only_capped_systems() -> None:
    notes = caps.describe({"faust": 15_000, "kstreamy": 500_000}, 500_000)
    assert notes == {"faust": "measured on 15,000 records (the others on 500,000)"}
