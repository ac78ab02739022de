"""The hand-written reference loop of `benchmarks/micro/bench_reference.py` does the cart job
right: its final aggregate per cart (sink and changelog) equals the totals computed directly
from the generated input, and equals what kstreamy's cart topology gives for the same input;
`bench_vs_reference.py` alternates the sides' order and computes its ratios right."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from benchmarks.micro import bench_reference, bench_vs_reference
from benchmarks.micro.bench_runtime import CARTS, create_topics
from kstreamy.runtime.app import KafkaStreams, State
from kstreamy.serdes import Json, MsgPack, String
from kstreamy.testing.kafka import consume
from tests.runtime.dsl_topologies import cart

RECORDS = 3_000


def _args(bootstrap: str, fmt: str, guarantee: str) -> Any:
    return bench_reference.build_parser().parse_args(
        ["--bootstrap", bootstrap, "--records", str(RECORDS), "--format", fmt,
         "--guarantee", guarantee, "--timeout", "60"]
    )  # fmt: skip


def _latest(bootstrap: str, topic: str, serde: Json | MsgPack) -> dict[str, Any]:
    """The last value per key of `topic` (read_committed, to its end)."""
    records = consume(bootstrap, topic, None, timeout=30, key_serde=String(), value_serde=serde)
    return {r.key: r.value for r in records}


def _kstreamy_carts(bootstrap: str, topics: dict[str, str], ends: list[TopicPartition],
                    serde: MsgPack, state_dir: Path) -> dict[str, Any]:  # fmt: skip
    """Run kstreamy's cart topology over the same input; the last aggregate per cart."""
    app_id = f"test-ref-kstreamy-{time.monotonic_ns()}"
    sink = f"{app_id}-out"
    create_topics(bootstrap, {sink: 2})
    config = {"application.id": app_id, "bootstrap.servers": bootstrap,
              "state.dir": str(state_dir), "commit.interval.ms": 100}  # fmt: skip
    app = KafkaStreams(cart(topics["input"], topics["products"], sink, serde), config)
    watcher = Consumer({"bootstrap.servers": bootstrap, "group.id": app_id})
    try:
        app.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and app.state is not State.ERROR:
            committed = watcher.committed([TopicPartition(t.topic, t.partition) for t in ends], 10)
            if all(c.offset >= e.offset for c, e in zip(committed, ends, strict=True)):
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"kstreamy did not commit the input (state {app.state.value})")
    finally:
        watcher.close()
        assert app.close(timeout=30)
    return _latest(bootstrap, sink, serde)


@pytest.mark.timeout(120)
def test_reference_loop_matches_expected_totals_and_kstreamy(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    args = _args(kafka_bootstrap, "msgpack", "at_least_once")
    topics, ends, _ = bench_reference.prepare(args)
    assert sum(tp.offset for tp in ends) == RECORDS
    result = bench_reference.run_once(args, topics, ends)
    assert result["records"] == RECORDS and result["commits"] >= 1
    expected = bench_reference.expected_carts(RECORDS)
    assert len(expected) == CARTS
    reference = _latest(kafka_bootstrap, result["sink"], MsgPack())
    assert reference == expected
    assert _kstreamy_carts(kafka_bootstrap, topics, ends, MsgPack(), tmp_path) == reference


@pytest.mark.timeout(120)
def test_reference_loop_exactly_once_writes_sink_and_changelog(kafka_bootstrap: str) -> None:
    args = _args(kafka_bootstrap, "json", "exactly_once_v2")
    topics, ends, _ = bench_reference.prepare(args)
    result = bench_reference.run_once(args, topics, ends)
    expected = bench_reference.expected_carts(RECORDS)
    assert _latest(kafka_bootstrap, result["sink"], Json()) == expected
    assert result["changelog_topic"] is not None
    assert _latest(kafka_bootstrap, result["changelog_topic"], Json()) == expected


def test_codec_bytes_equal_kstreamy_serdes() -> None:
    aggregate = {"items": 3, "total": 120}
    for fmt, serde in (("json", Json()), ("msgpack", MsgPack())):
        encode, decode = bench_reference.codec(fmt)
        assert encode(aggregate) == serde.serialize("t", aggregate)
        assert decode(serde.serialize("t", aggregate) or b"") == aggregate


def test_vs_reference_alternates_order_and_reports_ratios(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []
    rates = {"kstreamy": [40_000.0, 60_000.0], "reference": [100_000.0, 200_000.0]}

    def fake_measure(side: str, cfg: bench_vs_reference.Config, _args: Any) -> float:
        calls.append((side, cfg.name))
        rate = rates[side][len(cfg.paired)]
        (cfg.kstreamy if side == "kstreamy" else cfg.reference).rates.append(int(rate))
        return rate

    monkeypatch.setattr(bench_vs_reference, "measure", fake_measure)
    configs = [bench_vs_reference.Config("msgpack", "at_least_once"),
               bench_vs_reference.Config("json", "exactly_once_v2")]  # fmt: skip
    for index in range(2):
        bench_vs_reference.run_round(index, configs, argparse.Namespace())
    firsts = [calls[i][0] for i in range(0, len(calls), 2)]
    assert firsts == ["kstreamy", "reference", "reference", "kstreamy"]
    row = bench_vs_reference.report(configs[0], 90_000)
    assert row["kstreamy_median_records_per_s"] == 50_000
    assert row["reference_median_records_per_s"] == 150_000
    assert row["ratio"] == 0.333 and row["normalized_records_per_s"] == 30_000
    assert row["paired_ratio"] == round((0.4 + 0.3) / 2, 3)
    assert "msgpack/at_least_once" in bench_vs_reference.table([row])


def test_vs_reference_parses_the_result_and_summary_lines() -> None:
    out = 'noise\n{"records_per_s": 5, "cpu_s_per_1k": 0.1}\n%4|x\n{"summary": "cart", "n": 1}\n'
    run, summary = bench_vs_reference.parse_output(out)
    assert run["records_per_s"] == 5 and summary["summary"] == "cart"
    with pytest.raises(ValueError, match="no result"):
        bench_vs_reference.parse_output('{"summary": "cart"}\n')
