"""The README-ready markdown: throughput table with ratios, capped systems footnoted, targets."""

from __future__ import annotations

from typing import Any

from benchmarks import markdown, report


def run(rate: float, records: int) -> dict[str, Any]:
    return {"status": "ok", "records_per_s": rate, "cpu_s_per_1k": 0.1, "peak_rss_mb": 90.0,
            "records": records}  # fmt: skip


def entry(rate: float, records: int = 500_000, equal: bool | None = True) -> dict[str, Any]:
    e = report.summarize([run(rate, records)])
    e["records"] = records
    e["output_equal"] = equal
    return e


def doc() -> dict[str, Any]:
    w: dict[str, dict[str, Any]] = {
        "W3": {
            "kstreamy": entry(8000.0),
            "kafka-streams": entry(10000.0),
            "quix": entry(3000.0),
            "faust": entry(500.0, records=15_000),
        },
        "W4": {
            "kstreamy": entry(7000.0),
            "kafka-streams": entry(9000.0),
            "quix": {"status": "timeout", "error": "no full commit within 620 s", "runs": []},
            "faust": entry(400.0, records=15_000, equal=False),
        },
    }
    w["W3"]["faust"]["reference_run"] = {"records_per_s": 2000.0, "records": 15_000}
    report.add_ratios(w)
    return {
        "mode": "full",
        "settings": {"runs": 3},
        "machine": {"cpu_model": "test cpu", "cpus": 2},
        "workload_specs": {"W3": {"records": 500_000, "description": "carts"},
                           "W4": {"records": 500_000, "description": "carts, EOS"}},
        "workloads": w,
        "targets": report.evaluate_targets(w),
    }  # fmt: skip


def test_the_throughput_row_has_rates_and_ratios_to_kafka_streams() -> None:
    text = markdown.render(doc())
    row = next(line for line in text.splitlines() if line.startswith("| W3 carts"))
    assert "| 500,000 |" in row and "8,000 (0.80x)" in row and "| 10,000 |" in row
    assert "3,000 (0.30x)" in row


def test_a_capped_system_is_footnoted_with_its_input_size() -> None:
    text = markdown.render(doc())
    row = next(line for line in text.splitlines() if line.startswith("| W3 carts"))
    assert "500 (0.05x) [1]" in row
    assert "[1] Faust measured on the first 15,000 records" in text


def test_failures_and_differing_outputs_are_shown_not_hidden() -> None:
    text = markdown.render(doc())
    row = next(line for line in text.splitlines() if line.startswith("| W4 carts"))
    assert "timeout [" in row and "~~400 (0.04x)~~ output differs" in row
    assert "no full commit within 620 s" in text


def test_targets_say_when_the_two_sides_ran_on_different_sizes() -> None:
    d = doc()
    target = next(t for t in d["targets"] if t["name"] == "kstreamy >= 5x faust on W3")
    assert target["ratio"] == 16.0 and target["met"] is True
    assert (
        target["note"]
        == "kstreamy on 500,000 records, faust on 15,000 records of the same W3 generator"
    )
    text = markdown.render(d)
    line = next(ln for ln in text.splitlines() if ln.startswith("| kstreamy >= 5x faust on W3"))
    assert "16.00x [" in line and "| yes |" in line
    eos = next(ln for ln in text.splitlines() if ln.startswith("| kstreamy exactly-once"))
    assert "0.88x" in eos and "| yes |" in eos


def test_a_capped_system_also_gets_its_ratio_against_java_on_the_same_input() -> None:
    assert doc()["workloads"]["W3"]["faust"]["ratio_vs_kafka_streams_same_size"] == 0.25
