"""The harness loop without Kafka: caps, reference runs, equality per size, timeouts, errors."""

from __future__ import annotations

import types
from typing import Any

import pytest

from benchmarks import loader, run
from benchmarks.measure import Launch, RunResult, fill_metrics
from benchmarks.systems import RunSpec, System
from benchmarks.workloads import WORKLOADS


class FakeSystem(System):
    def launch(self, spec: RunSpec) -> Launch:
        return Launch(["true"])


class FakeKafka:
    """Stands in for the broker: loaded inputs, run outcomes and output topics."""

    def __init__(self, behaviour: dict[str, str]) -> None:
        self.behaviour = behaviour  # system -> ok | timeout | raise | differ
        self.loaded: list[int] = []
        self.outputs: dict[str, tuple[str, int]] = {}
        self.launched: list[tuple[str, int, str]] = []

    def load_dataset(self, bootstrap: str, dataset: str, records: int, seed: int) -> Any:
        self.loaded.append(records)
        return loader.InputTopics(f"in-{dataset}-{records}", records)

    def run_system(self, launch: Launch, result: RunResult, **kw: Any) -> RunResult:
        self.launched.append((result.system, result.records, kw["watch_topic"]))
        what = self.behaviour.get(result.system, "ok")
        if what == "raise":
            raise RuntimeError("broker went away")
        if what == "timeout":
            result.status, result.error = "timeout", "no full commit within 1 s"
            return result
        self.outputs[str(result.output_topic)] = (what, result.records)
        fill_metrics(result, 0.0, result.records / 1000, 1.0, 2**20)
        return result

    def read_topic(self, bootstrap: str, topic: str) -> list[tuple[bytes, bytes]]:
        what, records = self.outputs[topic]
        value = records + (1 if what == "differ" else 0)
        return [(b"k", str(value).encode())]


def bench(monkeypatch: pytest.MonkeyPatch, behaviour: dict[str, str], *argv: str) -> tuple[
    run.Bench, FakeKafka]:  # fmt: skip
    fake = FakeKafka(behaviour)
    fake_loader = types.SimpleNamespace(
        load_dataset=fake.load_dataset,
        end_offsets=lambda bootstrap, topic: {0: 1},
        create_topics=lambda bootstrap, names: None,
        topics_with_prefix=lambda bootstrap, prefix: [],
        delete_topics=lambda bootstrap, names: None,
        InputTopics=loader.InputTopics,
    )
    monkeypatch.setattr(run, "loader", fake_loader)
    monkeypatch.setattr(run, "run_system", fake.run_system)
    monkeypatch.setattr(run.verify, "read_topic", fake.read_topic)
    b = run.Bench(run.parse_args(list(argv)), "fake:9092")
    b.systems = {n: FakeSystem(n) for n in b.args.systems}
    return b, fake


def test_a_capped_system_runs_on_its_own_smaller_input_checked_against_a_java_reference_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    b, fake = bench(monkeypatch, {}, "--records", "3000", "--runs", "2",
                    "--max-records", "faust=2000")  # fmt: skip
    entries = b.run_workload(WORKLOADS["W2"])
    assert sorted(fake.loaded) == [2000, 3000]
    faust_runs = [(n, topic) for s, n, topic in fake.launched if s == "faust"]
    assert faust_runs == [(2000, "in-w2-2000")] * 2
    java = [n for s, n, _ in fake.launched if s == "kafka-streams"]
    assert sorted(java) == [2000, 3000, 3000]  # two measured runs + one reference run
    assert entries["faust"]["records"] == 2000 and entries["kstreamy"]["records"] == 3000
    assert entries["faust"]["output_equal"] is True
    assert entries["faust"]["output_check"]["records"] == 2000
    assert entries["faust"]["reference_run"]["records"] == 2000
    assert "measured on 2,000 records" in entries["faust"]["notes"]
    assert entries["kafka-streams"]["output_check"]["records"] == 3000
    assert len(entries["kafka-streams"]["runs"]) == 2  # the reference run is not a measured run


def test_a_differing_capped_output_is_flagged(monkeypatch: pytest.MonkeyPatch) -> None:
    b, _ = bench(monkeypatch, {"faust": "differ"}, "--records", "3000", "--runs", "1",
                 "--max-records", "faust=2000")  # fmt: skip
    entries = b.run_workload(WORKLOADS["W2"])
    assert entries["faust"]["output_equal"] is False
    assert entries["kstreamy"]["output_equal"] is True


def test_after_a_timeout_the_system_is_skipped_and_the_others_carry_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    b, fake = bench(monkeypatch, {"quix": "timeout", "faust": "raise"}, "--records", "3000",
                    "--runs", "3")  # fmt: skip
    entries = b.run_workload(WORKLOADS["W1"])
    assert [s for s, _, _ in fake.launched].count("quix") == 1
    assert entries["quix"]["status"] == "timeout"
    assert [r["status"] for r in entries["quix"]["runs"]] == ["timeout", "skipped", "skipped"]
    assert entries["faust"]["status"] == "failed"
    assert "harness error: RuntimeError: broker went away" in entries["faust"]["error"]
    assert entries["kstreamy"]["status"] == "ok" and entries["kstreamy"]["output_equal"] is True


def test_a_spent_time_budget_skips_runs_instead_of_starting_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    b, fake = bench(monkeypatch, {}, "--records", "3000", "--runs", "1", "--budget-min", "1")
    b.deadline = 0.0  # long past
    entries = b.run_workload(WORKLOADS["W2"])
    assert fake.launched == []
    assert {e["status"] for e in entries.values()} == {"skipped"}
    assert "time budget of 1.0 min spent" in entries["kstreamy"]["error"]


def test_a_full_run_gets_the_default_caps_and_a_sized_run_none() -> None:
    assert run.parse_args([]).max_records == run.caps.FULL_DEFAULT
    assert run.parse_args(["--records", "3000"]).max_records is None
    assert run.parse_args(["--quick"]).max_records is None
    with pytest.raises(ValueError, match="flink=1"):
        run.parse_args(["--max-records", "flink=1"])


def test_the_default_timeout_wants_2k_records_per_s_on_large_inputs_but_spares_small_ones() -> None:
    assert run.default_timeout(1_000_000) == 620.0
    assert run.default_timeout(15_000) == 195.0  # 1 s per 200 records
    assert run.default_timeout(200_000) == 300.0  # the 180 s floor


def test_progress_reports_the_summary_after_every_run(monkeypatch: pytest.MonkeyPatch) -> None:
    b, _ = bench(monkeypatch, {"quix": "raise"}, "--records", "3000", "--runs", "2",
                 "--systems", "kstreamy,quix")  # fmt: skip
    seen: list[dict[str, Any]] = []
    b.run_workload(WORKLOADS["W1"], seen.append)
    assert len(seen) == 4
    assert list(seen[0]) == ["kstreamy"] and seen[0]["kstreamy"]["status"] == "ok"
    assert seen[1]["quix"]["status"] == "failed"
    assert len(seen[3]["kstreamy"]["runs"]) == 2 and len(seen[3]["quix"]["runs"]) == 2
