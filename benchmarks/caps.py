"""Per-system input caps: a slow peer processes a smaller data set of the same generator.

A full run feeds W1 a million records and W2-W4 half a million; Faust processes a few hundred
to a thousand records per second, so three runs of each workload would take hours. With a cap
the system reads its own topic holding the first ``N`` records of the same seeded generator
(``bench-in-<dataset>-<N>-...``), its output is checked against Java Kafka Streams run on that
same smaller topic, and every row, table and chart says at which size it was measured.

Caps are written ``system=N`` (every workload) or ``system:W3=N`` (one workload), comma
separated; later items win, and ``none`` clears them all.
"""

from __future__ import annotations

from benchmarks.workloads import ALL_SYSTEMS, ALL_WORKLOADS

Caps = dict[tuple[str, str | None], int]

FULL_DEFAULT = (
    "faust:W1=40000,faust:W2=30000,faust:W3=15000,faust:W4=15000,quix:W3=200000,quix:W4=200000"
)
"""The caps of a full run unless ``--max-records`` says otherwise.

Faust's measured rates on the 2-core development machine (``build/bench-out``): W1 ~0.5 s of CPU
per 1k records (~1-2k records/s), W2 ~1 s/1k, W3/W4 ~1-1.5 s/1k (200-700 records/s wall); these
sizes keep each Faust run under about a minute. Quix Streams needs ~0.16-0.21 s of CPU per 1k
cart events (W3/W4: ~150 s per run at 500k); 200k (86k of the 99k customers) keeps its six
W3/W4 runs near 5 minutes. Together they bring a full run to about 45 minutes.
"""


def parse(text: str | None) -> Caps:
    """``"faust=50000,quix:W3=200000"`` -> ``{("faust", None): 50000, ("quix", "W3"): 200000}``."""
    caps: Caps = {}
    if not text:
        return caps
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        if item.lower() == "none":
            caps.clear()
            continue
        target, sep, number = item.partition("=")
        system, _, workload = target.strip().partition(":")
        if not sep or system not in ALL_SYSTEMS or (workload and workload not in ALL_WORKLOADS):
            raise ValueError(
                f"bad --max-records item {item!r}: write system=N or system:W<k>=N with a "
                f"system in {', '.join(ALL_SYSTEMS)} and a workload in {', '.join(ALL_WORKLOADS)}"
            )
        try:
            n = int(number.replace("_", ""))
        except ValueError:
            raise ValueError(
                f"bad --max-records item {item!r}: {number!r} is not a count"
            ) from None
        if n <= 0:
            raise ValueError(f"bad --max-records item {item!r}: the cap must be positive")
        caps[(system, workload or None)] = n
    return caps


def records_for(caps: Caps, system: str, workload: str, records: int) -> int:
    """The input size ``system`` processes for ``workload`` when the workload has ``records``."""
    cap = caps.get((system, workload), caps.get((system, None)))
    return records if cap is None else min(records, cap)


def describe(sizes: dict[str, int], full: int) -> dict[str, str]:
    """Human notes for capped systems: ``{"faust": "measured on 15,000 of 500,000 records"}``."""
    return {
        name: f"measured on {n:,} records (the others on {full:,})"
        for name, n in sizes.items()
        if n != full
    }
