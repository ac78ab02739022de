"""Results: summarising runs, ratios against Java Kafka Streams, targets, JSON, table and chart.

``latest.json`` (and ``quick.json``) look like::

    {"schema": 1, "mode": "full", "generated_at": "...", "machine": {...}, "versions": {...},
     "settings": {...}, "workload_specs": {"W1": {...}},
     "workloads": {"W1": {"kstreamy": {"records_per_s": <median>, "min": ..., "max": ...,
                                        "cpu_s_per_1k": ..., "peak_rss_mb": ...,
                                        "ratio_vs_kafka_streams": ..., "output_equal": true,
                                        "status": "ok", "notes": "...", "runs": [...]}}},
     "targets": [{"name": "...", "ratio": ..., "goal": ..., "met": ...}]}

A system's numbers count only when its output equalled the reference's (``output_equal``).
"""

from __future__ import annotations

import json
import math
import platform
import statistics
import subprocess
from pathlib import Path
from typing import Any

from benchmarks.workloads import REFERENCE_SYSTEM

SCHEMA = 1
SYSTEM_FIELDS = ("records_per_s", "min", "max", "cpu_s_per_1k", "peak_rss_mb")


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median/min/max throughput, median CPU per 1k records, max peak RSS over ``ok`` runs.

    The status is ``ok`` (every run ok), ``partial`` (some), or when none was ok ``timeout``
    (a run timed out), ``skipped`` (none ran: time budget) or ``failed``.
    """
    ok = [r for r in runs if r.get("status") == "ok" and r.get("records_per_s")]
    if not ok:
        statuses = {r.get("status") for r in runs}
        errors = [r.get("error") for r in runs if r.get("error")]
        status = "timeout" if "timeout" in statuses else "failed"
        if statuses == {"skipped"}:
            status = "skipped"
        return {"status": status, "error": errors[0] if errors else "no run", "runs": runs}
    rates = [float(r["records_per_s"]) for r in ok]
    cpus = [float(r["cpu_s_per_1k"]) for r in ok if r.get("cpu_s_per_1k") is not None]
    rss = [float(r["peak_rss_mb"]) for r in ok if r.get("peak_rss_mb") is not None]
    entry: dict[str, Any] = {
        "status": "ok" if len(ok) == len(runs) else "partial",
        "records_per_s": round(statistics.median(rates), 1),
        "min": round(min(rates), 1),
        "max": round(max(rates), 1),
        "cpu_s_per_1k": round(statistics.median(cpus), 5) if cpus else None,
        "peak_rss_mb": round(max(rss), 1) if rss else None,
        "ok_runs": len(ok),
        "runs": runs,
    }
    if len(ok) != len(runs):
        entry["error"] = next((r.get("error") for r in runs if r.get("error")), None)
    return entry


def ratio(a: float | None, b: float | None) -> float | None:
    """``a / b`` rounded to 3 places, or None when either is missing or ``b`` is 0."""
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 3)


def add_ratios(workloads: dict[str, dict[str, Any]]) -> None:
    """Set ``ratio_vs_kafka_streams`` on every system entry that has a throughput.

    A capped system (fewer ``records`` than the reference) also gets
    ``ratio_vs_kafka_streams_same_size``, against Java's reference run on its smaller input.
    """
    for systems in workloads.values():
        ref = systems.get(REFERENCE_SYSTEM, {}).get("records_per_s")
        for entry in systems.values():
            entry["ratio_vs_kafka_streams"] = ratio(entry.get("records_per_s"), ref)
            same = entry.get("reference_run") or {}
            if same.get("records_per_s"):
                entry["ratio_vs_kafka_streams_same_size"] = ratio(
                    entry.get("records_per_s"), same["records_per_s"]
                )


def _rate(workloads: dict[str, Any], wl: str, system: str) -> float | None:
    entry = workloads.get(wl, {}).get(system, {})
    if entry.get("output_equal") is False:
        return None
    value = entry.get("records_per_s")
    return float(value) if value is not None else None


def evaluate_targets(workloads: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's targets, each with the measured ratio and whether it is met (None: unknown)."""
    checks: list[tuple[str, str, str, str, str, float]] = []
    for wl in ("W2", "W3", "W4"):
        checks.append((f"kstreamy >= 2x quix on {wl}", wl, "kstreamy", wl, "quix", 2.0))
        checks.append((f"kstreamy >= 5x faust on {wl}", wl, "kstreamy", wl, "faust", 5.0))
    checks.append(("kstreamy >= 0.5x kafka-streams on W3", "W3", "kstreamy", "W3",
                   REFERENCE_SYSTEM, 0.5))  # fmt: skip
    # Exactly-once costs at most 20%: W4 throughput >= 0.8x W3 throughput.
    checks.append(("kstreamy exactly-once >= 0.8x at-least-once (W4/W3)", "W4", "kstreamy",
                   "W3", "kstreamy", 0.8))  # fmt: skip
    out = []
    for name, wl_a, sys_a, wl_b, sys_b, goal in checks:
        a, b = _rate(workloads, wl_a, sys_a), _rate(workloads, wl_b, sys_b)
        r = ratio(a, b)
        entry_a = workloads.get(wl_a, {}).get(sys_a)
        entry_b = workloads.get(wl_b, {}).get(sys_b)
        if entry_a is None or entry_b is None:
            continue
        target: dict[str, Any] = {"name": name, "ratio": r, "goal": goal,
                                  "met": None if r is None else r >= goal}  # fmt: skip
        n_a, n_b = entry_a.get("records"), entry_b.get("records")
        if n_a and n_b and n_a != n_b:
            target["note"] = (f"{sys_a} on {n_a:,} records, {sys_b} on {n_b:,} records "
                              f"of the same {wl_b} generator")  # fmt: skip
        out.append(target)
    return out


def _cmd(argv: list[str]) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = (proc.stdout + proc.stderr).strip().splitlines()
    return text[0] if text else "?"


def machine_info() -> dict[str, Any]:
    """CPU model, core count, memory, OS, Python and Java versions."""
    cpu = "?"
    mem_mb = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_mb = int(line.split()[1]) // 1024
    except OSError:
        pass
    import os

    return {
        "hostname": platform.node(),
        "cpu_model": cpu,
        "cpus": os.cpu_count(),
        "mem_total_mb": mem_mb,
        "os": platform.platform(),
        "python": platform.python_version(),
        "java": _cmd(["java", "-version"]),
    }


def validate(results: dict[str, Any]) -> list[str]:
    """Problems with a results document's shape (empty when it follows the schema)."""
    problems = []
    for key in ("schema", "mode", "machine", "versions", "workloads"):
        if key not in results:
            problems.append(f"missing top-level key {key!r}")
    for wl, systems in results.get("workloads", {}).items():
        if not isinstance(systems, dict):
            problems.append(f"workloads.{wl} is not an object")
            continue
        for system, entry in systems.items():
            if entry.get("status") in ("ok", "partial"):
                for field in SYSTEM_FIELDS:
                    if field not in entry:
                        problems.append(f"workloads.{wl}.{system} lacks {field!r}")
                lo, mid, hi = entry.get("min"), entry.get("records_per_s"), entry.get("max")
                if None not in (lo, mid, hi) and not lo <= mid <= hi:
                    problems.append(f"workloads.{wl}.{system}: not min <= median <= max")
            elif "error" not in entry:
                problems.append(f"workloads.{wl}.{system} failed without an 'error'")
    return problems


def write_json(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, sort_keys=False) + "\n")


def markdown_table(results: dict[str, Any]) -> str:
    """The README's performance section: throughput table, targets, footnotes, details."""
    from benchmarks import markdown

    return markdown.render(results)


def plot(results: dict[str, Any], path: Path) -> bool:
    """Grouped bars: each system's throughput relative to Java Kafka Streams, per workload.

    Returns False (and draws nothing) when matplotlib is missing or there is nothing to draw.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    workloads = results.get("workloads", {})
    systems: list[str] = []
    for entries in workloads.values():
        systems += [s for s in entries if s not in systems]
    if not workloads or not systems:
        return False
    width = 0.8 / len(systems)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    names = list(workloads)
    specs = results.get("workload_specs", {})
    capped_any: dict[str, list[str]] = {}
    for i, system in enumerate(systems):
        values, labels_ = [], []
        for wl in names:
            e = workloads[wl].get(system, {})
            ok = e.get("output_equal") is not False
            r = e.get("ratio_vs_kafka_streams")
            values.append(float(r) if ok and r else math.nan)  # nothing drawn on a log axis
            full = specs.get(wl, {}).get("records")
            n = e.get("records")
            capped = n is not None and full is not None and n != full
            if capped:
                capped_any.setdefault(system, []).append(f"{wl} {n:,}")
            labels_.append(f"\n{n / 1000:g}k rec" if capped else "")
        xs = [j + (i - (len(systems) - 1) / 2) * width for j in range(len(names))]
        legend = system + (" *" if system in capped_any else "")
        bars = ax.bar(xs, values, width, label=legend)
        for bar, v, extra in zip(bars, values, labels_, strict=True):
            if not math.isnan(v):
                ax.annotate(f"{v:.2f}{extra}", (bar.get_x() + bar.get_width() / 2, v),
                            ha="center", va="bottom", fontsize=7)  # fmt: skip
    ax.axhline(1.0, color="grey", linewidth=0.8, linestyle="--")
    if capped_any:
        text = "; ".join(f"{s} measured on fewer records ({', '.join(v)})"
                         for s, v in capped_any.items())  # fmt: skip
        fig.text(0.01, 0.01, "* " + text, fontsize=7, ha="left", va="bottom")
    labels = [
        f"{wl}\n{specs[wl]['records']:,} records" if "records" in specs.get(wl, {}) else wl
        for wl in names
    ]
    ax.set_xticks(range(len(names)), labels)
    ax.set_ylabel("throughput relative to Java Kafka Streams (log scale)")
    ax.set_title(f"kstreamy benchmarks ({results.get('mode', '?')}; higher is better)")
    ax.legend(loc="lower left", fontsize="small", framealpha=0.9)
    ax.set_yscale("log")
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    # Label 1-2-5 steps only: labelling every minor tick of a log axis makes them overlap.
    ax.yaxis.set_major_locator(FixedLocator([0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10]))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _pos: f"{y:g}x"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    fig.tight_layout(rect=(0, 0.04 if capped_any else 0, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.report results/latest.json``: check it, redraw its chart, print
    the README table."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m benchmarks.report", description=main.__doc__)
    p.add_argument("results", nargs="?", default=str(Path(__file__).parent / "results" /
                                                     "latest.json"))  # fmt: skip
    args = p.parse_args(argv)
    path = Path(args.results)
    results = json.loads(path.read_text())
    for problem in validate(results):
        print(f"warning: {problem}")
    plot(results, path.with_suffix(".png"))
    print(markdown_table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
