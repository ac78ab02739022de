"""The README-ready markdown of a results document: throughput table, details, targets.

``python -m benchmarks.report`` prints it; the lead pastes it into the README's performance
section. Systems measured on a smaller input (``--max-records``) are footnoted in every table.
"""

from __future__ import annotations

from typing import Any

from benchmarks.workloads import ALL_SYSTEMS, REFERENCE_SYSTEM

TITLES = {
    "kstreamy": "kstreamy",
    "kafka-streams": "Kafka Streams (Java)",
    "quix": "Quix Streams",
    "faust": "Faust",
}
FAILED = ("failed", "timeout", "skipped", "unavailable")


def _systems(results: dict[str, Any]) -> list[str]:
    seen: list[str] = []
    for entries in results.get("workloads", {}).values():
        seen += [s for s in entries if s not in seen]
    return [s for s in ALL_SYSTEMS if s in seen] + [s for s in seen if s not in ALL_SYSTEMS]


def _full_records(results: dict[str, Any], wl: str) -> int | None:
    value = results.get("workload_specs", {}).get(wl, {}).get("records")
    return int(value) if value is not None else None


def _capped(results: dict[str, Any], wl: str, entry: dict[str, Any]) -> int | None:
    """The smaller input ``entry`` was measured on, or None when it had the full input."""
    full, records = _full_records(results, wl), entry.get("records")
    return int(records) if records is not None and full is not None and records != full else None


class Footnotes:
    """Numbered footnotes, one per distinct text."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def mark(self, text: str) -> str:
        if text not in self.texts:
            self.texts.append(text)
        return f" [{self.texts.index(text) + 1}]"

    def render(self) -> list[str]:
        return [f"[{i}] {text}  " for i, text in enumerate(self.texts, 1)]


def _cap_note(system: str, records: int) -> str:
    return (
        f"{TITLES.get(system, system)} measured on the first {records:,} records of the same "
        f"generator (its own topic); its output was compared with Kafka Streams run on that same "
        "input. Its ratio is against Kafka Streams on the full input."
    )


def _cell(results: dict[str, Any], wl: str, system: str, notes: Footnotes) -> str:
    e = results["workloads"][wl].get(system)
    if e is None:
        return "-"
    if e.get("status") in FAILED or e.get("records_per_s") is None:
        return f"{e.get('status', 'failed')}" + notes.mark(
            f"{wl} {system}: {str(e.get('error', '?'))[:160]}"
        )
    text = f"{e['records_per_s']:,.0f}"
    r = e.get("ratio_vs_kafka_streams")
    if r is not None and system != REFERENCE_SYSTEM:
        text += f" ({r:.2f}x)"
    if e.get("output_equal") is False:
        text = f"~~{text}~~ output differs"
    elif e.get("output_equal") is None and e.get("status") in ("ok", "partial"):
        text += " (unchecked)"
    capped = _capped(results, wl, e)
    if capped is not None:
        text += notes.mark(_cap_note(system, capped))
    if e.get("status") == "partial":
        text += notes.mark(f"{wl} {system}: only {e.get('ok_runs', '?')} of its runs succeeded "
                           f"({str(e.get('error', '?'))[:120]})")  # fmt: skip
    return text


def throughput_table(results: dict[str, Any], notes: Footnotes) -> list[str]:
    """One row per workload, one column per system: median records/s (ratio to Java)."""
    systems = _systems(results)
    rows = [
        "| workload | records | " + " | ".join(TITLES.get(s, s) for s in systems) + " |",
        "|---|---:|" + "---:|" * len(systems),
    ]
    specs = results.get("workload_specs", {})
    for wl in results.get("workloads", {}):
        desc = specs.get(wl, {}).get("description", "")
        full = _full_records(results, wl)
        cells = [_cell(results, wl, s, notes) for s in systems]
        rows.append(f"| {wl} {desc} | {full or 0:,} | " + " | ".join(cells) + " |")
    return rows


def details_table(results: dict[str, Any]) -> list[str]:
    """One row per workload and system: min/max, CPU, memory, input size, output check."""
    rows = [
        "| workload | system | records | records/s (median) | min | max | vs Kafka Streams | "
        "CPU s / 1k records | peak RSS MB | output equal |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for wl, systems in results.get("workloads", {}).items():
        for system in _systems(results):
            e = systems.get(system)
            if e is None:
                continue
            records = e.get("records", _full_records(results, wl))
            if e.get("status") in FAILED or e.get("records_per_s") is None:
                rows.append(f"| {wl} | {system} | {records or 0:,} | {e.get('status', 'failed')}: "
                            f"{str(e.get('error', '?'))[:80]} | | | | | | |")  # fmt: skip
                continue
            r = e.get("ratio_vs_kafka_streams")
            rows.append(
                f"| {wl} | {system} | {records or 0:,} | {e['records_per_s']:,.0f} | "
                f"{e['min']:,.0f} | {e['max']:,.0f} | {'' if r is None else f'{r:.2f}x'} | "
                f"{e.get('cpu_s_per_1k') or 0:.3f} | {e.get('peak_rss_mb') or 0:.0f} | "
                f"{e.get('output_equal')} |"
            )
    return rows


def targets_table(results: dict[str, Any], notes: Footnotes) -> list[str]:
    """The issue's targets: measured ratio, goal, met."""
    rows = ["| target | measured | goal | met |", "|---|---:|---:|---|"]
    for t in results.get("targets", []):
        measured = "n/a" if t.get("ratio") is None else f"{t['ratio']:.2f}x"
        met = {True: "yes", False: "**no**", None: "unknown"}[t.get("met")]
        if t.get("note"):
            measured += notes.mark(t["note"])
        rows.append(f"| {t['name']} | {measured} | {t['goal']}x | {met} |")
    return rows


def render(results: dict[str, Any]) -> str:
    """Everything the README's performance section needs, as markdown."""
    notes = Footnotes()
    machine = results.get("machine", {})
    settings = results.get("settings", {})
    lines = [
        f"Throughput in input records/s, median of {settings.get('runs', '?')} runs "
        "(in brackets: relative to Java Kafka Streams on the same workload); "
        f"{machine.get('cpu_model', '?')}, {machine.get('cpus', '?')} CPUs, "
        f"Python {machine.get('python', '?')}, {machine.get('java', '?')}; "
        f"{results.get('mode', '?')} run of {results.get('generated_at', '?')}.",
        "",
        *throughput_table(results, notes),
        "",
        *targets_table(results, notes),
        "",
        *notes.render(),
        "",
        "<details><summary>min, max, CPU and memory per system</summary>",
        "",
        *details_table(results),
        "",
        "</details>",
    ]
    return "\n".join(lines)
