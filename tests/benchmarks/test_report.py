"""Results: summaries, ratios, targets, the JSON schema check, the table and the chart."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import report


def run(rate: float, cpu: float = 0.1, rss: float = 100.0, status: str = "ok") -> dict[str, Any]:
    return {"status": status, "records_per_s": rate, "cpu_s_per_1k": cpu, "peak_rss_mb": rss}


def test_summary_is_the_median_with_min_and_max() -> None:
    s = report.summarize([run(300.0, 0.3, 90), run(100.0, 0.1, 120), run(200.0, 0.2, 100)])
    assert (s["records_per_s"], s["min"], s["max"]) == (200.0, 100.0, 300.0)
    assert s["cpu_s_per_1k"] == 0.2 and s["peak_rss_mb"] == 120
    assert s["status"] == "ok"


def test_summary_ignores_failed_runs_and_says_partial() -> None:
    s = report.summarize([run(100.0), {"status": "timeout", "error": "slow"}])
    assert s["status"] == "partial" and s["records_per_s"] == 100.0


def test_summary_of_only_failures_carries_the_error() -> None:
    s = report.summarize([{"status": "failed", "error": "boom"}])
    assert s["status"] == "failed" and s["error"] == "boom"


def test_ratio_handles_missing_values() -> None:
    assert report.ratio(50.0, 100.0) == 0.5
    assert report.ratio(None, 100.0) is None
    assert report.ratio(1.0, 0.0) is None


def workloads() -> dict[str, dict[str, Any]]:
    w: dict[str, dict[str, Any]] = {
        "W2": {"kafka-streams": report.summarize([run(1000.0)]),
               "kstreamy": report.summarize([run(600.0)]),
               "quix": report.summarize([run(200.0)]),
               "faust": report.summarize([run(150.0)])},
        "W3": {"kafka-streams": report.summarize([run(800.0)]),
               "kstreamy": report.summarize([run(300.0)])},
        "W4": {"kafka-streams": report.summarize([run(700.0)]),
               "kstreamy": report.summarize([run(270.0)])},
    }  # fmt: skip
    report.add_ratios(w)
    return w


def test_ratios_are_relative_to_kafka_streams() -> None:
    w = workloads()
    assert w["W2"]["kstreamy"]["ratio_vs_kafka_streams"] == 0.6
    assert w["W2"]["kafka-streams"]["ratio_vs_kafka_streams"] == 1.0


def test_targets_compute_ratios_and_verdicts() -> None:
    targets = {t["name"]: t for t in report.evaluate_targets(workloads())}
    assert targets["kstreamy >= 2x quix on W2"]["ratio"] == 3.0
    assert targets["kstreamy >= 2x quix on W2"]["met"] is True
    assert targets["kstreamy >= 5x faust on W2"]["met"] is False  # 4x
    assert targets["kstreamy >= 0.5x kafka-streams on W3"]["met"] is False  # 0.375x
    assert "kstreamy >= 2x quix on W3" not in targets  # quix did not run W3
    eos = targets["kstreamy exactly-once >= 0.8x at-least-once (W4/W3)"]
    assert eos["ratio"] == 0.9 and eos["met"] is True


def test_a_system_whose_output_differs_does_not_count_towards_targets() -> None:
    w = workloads()
    w["W2"]["quix"]["output_equal"] = False
    targets = {t["name"]: t for t in report.evaluate_targets(w)}
    assert targets["kstreamy >= 2x quix on W2"]["met"] is None


def results(w: dict[str, Any]) -> dict[str, Any]:
    return {"schema": 1, "mode": "quick", "machine": {}, "versions": {}, "workloads": w}


def test_validate_accepts_a_well_formed_document() -> None:
    doc = results(workloads())
    assert report.validate(json.loads(json.dumps(doc))) == []


@pytest.mark.parametrize("field", ["records_per_s", "min", "max", "cpu_s_per_1k", "peak_rss_mb"])
def test_validate_names_a_missing_system_field(field: str) -> None:
    doc = results(workloads())
    del doc["workloads"]["W3"]["kstreamy"][field]
    assert any(field in p and "W3.kstreamy" in p for p in report.validate(doc))


def test_validate_wants_an_error_on_failures_and_top_level_keys() -> None:
    doc = {"workloads": {"W1": {"quix": {"status": "failed"}}}}
    problems = report.validate(doc)
    assert "missing top-level key 'machine'" in problems
    assert any("W1.quix failed without an 'error'" in p for p in problems)


def test_markdown_table_has_a_row_per_system() -> None:
    table = report.markdown_table(results(workloads()))
    assert table.count("\n| W2 |") == 4 and "0.60x" in table


def test_plot_writes_a_png_or_says_it_cannot(tmp_path: Path) -> None:
    path = tmp_path / "chart.png"
    drew = report.plot(results(workloads()), path)
    if importlib.util.find_spec("matplotlib") is None:  # the `bench` extra is not installed
        assert not drew and not path.exists()
    else:
        assert drew and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_of_nothing_draws_nothing(tmp_path: Path) -> None:
    assert not report.plot(results({}), tmp_path / "none.png")


def test_summary_names_timeouts_and_skips_when_no_run_succeeded() -> None:
    timed_out = report.summarize([{"status": "timeout", "error": "slow"},
                                  {"status": "skipped", "error": "after a timeout"}])  # fmt: skip
    assert timed_out["status"] == "timeout" and timed_out["error"] == "slow"
    skipped = report.summarize([{"status": "skipped", "error": "time budget spent"}])
    assert skipped["status"] == "skipped" and "records_per_s" not in skipped


def test_a_partial_summary_counts_its_ok_runs_and_keeps_the_error() -> None:
    s = report.summarize([run(100.0), run(300.0), {"status": "timeout", "error": "slow"}])
    assert s["ok_runs"] == 2 and s["error"] == "slow" and s["records_per_s"] == 200.0
