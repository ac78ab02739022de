"""Differential conformance: the catalogue through Kafka Streams' TopologyTestDriver and kstreamy's.

A fixed-seed subset (make test); `python -m tests.conformance.run` runs thousands. Only topologies
that kstreamy supports and that currently match are asserted here (`COMPARED`); the others are
listed with their reasons in docs/conformance.md. The Java runner is built once (cached under
build/conformance-java/) and one JVM serves the whole session.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conformance import compare, runner
from tests.conformance.generator import generate
from tests.conformance.java_side import JavaRunner, JavaUnavailable, build
from tests.conformance.topologies import CATALOGUE

SEED = 20261127
PER_TOPOLOGY = 30

COMPARED = [i for i, s in CATALOGUE.items() if s.kstreamy_supported and not s.known_mismatch]
DESCRIBED = [
    i for i, s in CATALOGUE.items() if s.kstreamy_supported and not s.known_describe_mismatch
]


@pytest.fixture(scope="module")
def java() -> Iterator[JavaRunner]:
    try:
        build_dir = build()
    except JavaUnavailable as e:
        pytest.fail(f"the Java side of the conformance suite cannot run: {e}")
    with JavaRunner(build_dir) as r:
        yield r


@pytest.mark.timeout(900)
def test_java_catalogue_matches_python_catalogue(java: JavaRunner) -> None:
    assert sorted(java.ids()) == sorted(CATALOGUE)


def test_generator_covers_collisions_nulls_and_disorder() -> None:
    scenarios = generate(["count", "stream_table_join"], 50, SEED)
    records = [s for sc in scenarios for s in sc["steps"] if "topic" in s]
    assert any(r["key"] is None for r in records)
    assert any(r["value"] is None for r in records)
    assert any("advance_ms" in s for sc in scenarios for s in sc["steps"])
    assert {sc["caching"] for sc in scenarios} == {True, False}
    disordered = 0
    for sc in scenarios:
        ts = [s["timestamp"] for s in sc["steps"] if "topic" in s]
        disordered += any(b < a for a, b in itertools.pairwise(ts))
    assert disordered > 5
    assert generate(["count"], 5, SEED) == generate(["count"], 5, SEED)


def test_difference_sees_order_timestamps_and_errors() -> None:
    rec = {"topic": "out", "key": "a", "value": "1", "timestamp": 1}
    base = {"id": "x", "topology": "t", "steps": [[rec, {**rec, "value": "2"}]], "error": None}
    assert compare.difference(base, base) is None
    swapped = {**base, "steps": [[{**rec, "value": "2"}, rec]]}
    assert compare.difference(base, swapped) is not None
    assert compare.difference(base, {**base, "steps": [[rec, {**rec, "timestamp": 2}]]})
    assert compare.difference(base, {**base, "error": "boom"}) is not None


def test_shrink_finds_the_minimal_failing_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    # A stand-in comparison: the sides "disagree" whenever the advances 3 and 5 are both present.
    def fake_mismatches(java_run: object, s: dict[str, Any]) -> bool:
        return {3, 5} <= {st["advance_ms"] for st in s["steps"]}

    monkeypatch.setattr(compare, "mismatches", fake_mismatches)
    scenario = {"id": "s", "topology": "filter", "steps": [{"advance_ms": i} for i in range(10)]}
    small = compare.shrink(lambda s: s, scenario)
    assert small["steps"] == [{"advance_ms": 3}, {"advance_ms": 5}]


@pytest.mark.timeout(900)
@pytest.mark.parametrize("topology_id", DESCRIBED)
def test_describe_matches_kafka(java: JavaRunner, topology_id: str) -> None:
    diff = compare.describe_difference(java.describe(topology_id), runner.describe(topology_id))
    if diff is not None:
        pytest.fail(diff, pytrace=False)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("topology_id", COMPARED)
def test_outputs_match_kafka(java: JavaRunner, topology_id: str) -> None:
    for scenario in generate([topology_id], PER_TOPOLOGY, SEED):
        if compare.difference(java.run(scenario), runner.run(scenario)) is not None:
            small = compare.shrink(java.run, scenario)
            pytest.fail(
                "kstreamy differs from Kafka Streams:\n" + compare.reproducer(java.run, small),
                pytrace=False,
            )
