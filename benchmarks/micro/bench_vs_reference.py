"""kstreamy's runtime against the hand-written reference loop, interleaved (not a test).

This 2-core VM's CPU speed drifts by up to ~60% over hours, so absolute rates measured at
different times cannot be compared; rates measured back to back can. For each of `--repeat`
rounds and each configuration (format x guarantee), this runs `bench_runtime.py --topology cart`
and `bench_reference.py` once each (`--repeat 1`, as subprocesses, one at a time, the order
alternating between configurations and rounds so neither side always goes first), then prints
per configuration:

- the median records/s of each side, and `ratio` = kstreamy median / reference median;
- `paired_ratio`: the median of the per-round ratios (each from two runs seconds apart, so the
  least sensitive to drift);
- `normalized` = ratio * `--reference-rate` (90,000: issue #5's figure for the reference loop
  on this machine), i.e. kstreamy's rate scaled to the period the issue's figures come from;
- the CPU seconds per 1k records of each side and their ratio (less noisy than rates).

Each subprocess preloads its own input (bench_runtime has no option to reuse topics; preloading
is not timed). One JSON line per configuration on stdout, then a table; progress on stderr.
`--max-seconds` bounds the whole: no round starts once it would likely overrun.

    .venv/bin/python benchmarks/micro/bench_vs_reference.py --bootstrap 127.0.0.1:9192
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RUNTIME = HERE / "bench_runtime.py"
REFERENCE = HERE / "bench_reference.py"
REFERENCE_RATE = 90_000
"""Issue #5: the hand-written reference loop does the cart job at about 90k/s here."""


@dataclass
class Side:
    """The measured runs of one side (kstreamy or reference) of one configuration."""

    rates: list[int] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    failures: int = 0

    def median_rate(self) -> float | None:
        return statistics.median(self.rates) if self.rates else None

    def median_cpu(self) -> float | None:
        return statistics.median(self.cpus) if self.cpus else None


@dataclass
class Config:
    """One format x guarantee configuration and its runs, round by round."""

    fmt: str
    guarantee: str
    kstreamy: Side = field(default_factory=Side)
    reference: Side = field(default_factory=Side)
    paired: list[float] = field(default_factory=list)
    calibrations: list[float] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.fmt}/{self.guarantee}"


def command(side: str, cfg: Config, args: argparse.Namespace) -> list[str]:
    """The subprocess command line of one measured run of `side` for `cfg`."""
    common = ["--bootstrap", args.bootstrap, "--records", str(args.records),
              "--format", cfg.fmt, "--guarantee", cfg.guarantee,
              "--commit-interval-ms", str(args.commit_interval_ms),
              "--partitions", str(args.partitions), "--repeat", "1",
              "--timeout", str(args.timeout)]  # fmt: skip
    if args.tune_gc:
        common.append("--tune-gc")
    if side == "kstreamy":
        return [sys.executable, str(RUNTIME), "--topology", "cart", *common]
    extra = [] if args.changelog else ["--no-changelog"]
    return [sys.executable, str(REFERENCE), *common, *extra]


def parse_output(stdout: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the run's result line, the summary line) of a bench script's stdout."""
    run: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    for line in stdout.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if "summary" in obj:
            summary = obj
        elif "records_per_s" in obj:
            run = obj
    if run is None or summary is None:
        raise ValueError("no result or summary line in the output")
    return run, summary


def measure(side: str, cfg: Config, args: argparse.Namespace) -> float | None:
    """Run one measured run of `side`, record it in `cfg`; its records/s (None: it failed)."""
    cmd = command(side, cfg, args)
    target = cfg.kstreamy if side == "kstreamy" else cfg.reference
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout + 120)
        if proc.returncode != 0:
            raise ValueError(f"exit status {proc.returncode}: {proc.stderr.strip()[-600:]}")
        run, summary = parse_output(proc.stdout)
    except (ValueError, subprocess.TimeoutExpired) as exc:
        target.failures += 1
        print(f"  {side} {cfg.name} FAILED: {exc}", file=sys.stderr, flush=True)
        return None
    target.rates.append(int(run["records_per_s"]))
    target.cpus.append(float(run["cpu_s_per_1k"]))
    if "calibration_task_us_per_record" in summary:
        cfg.calibrations.append(float(summary["calibration_task_us_per_record"]))
    rate = float(run["records_per_s"])
    print(f"  {side:<9} {cfg.name:<26} {rate:>9,.0f} records/s  "
          f"{run['cpu_s_per_1k']:.4f} cpu s/1k", file=sys.stderr, flush=True)  # fmt: skip
    return rate


def run_round(index: int, configs: list[Config], args: argparse.Namespace) -> None:
    """One round: each configuration's two sides back to back, the order alternating."""
    for position, cfg in enumerate(configs):
        order = ["kstreamy", "reference"]
        if (index + position) % 2:
            order.reverse()
        rates = {side: measure(side, cfg, args) for side in order}
        ks, ref = rates["kstreamy"], rates["reference"]
        if ks is not None and ref is not None and ref > 0:
            cfg.paired.append(ks / ref)


def _round(value: float | None, digits: int = 0) -> float | None:
    return None if value is None else round(value, digits)


def report(cfg: Config, reference_rate: int) -> dict[str, Any]:
    """The configuration's result line (see the module docstring)."""
    ks, ref = cfg.kstreamy.median_rate(), cfg.reference.median_rate()
    ratio = ks / ref if ks is not None and ref else None
    ks_cpu, ref_cpu = cfg.kstreamy.median_cpu(), cfg.reference.median_cpu()
    return {
        "config": cfg.name,
        "rounds": len(cfg.paired),
        "kstreamy_median_records_per_s": _round(ks),
        "reference_median_records_per_s": _round(ref),
        "ratio": _round(ratio, 3),
        "paired_ratio": _round(statistics.median(cfg.paired), 3) if cfg.paired else None,
        "normalized_records_per_s": _round(None if ratio is None else ratio * reference_rate),
        "kstreamy_median_cpu_s_per_1k": ks_cpu,
        "reference_median_cpu_s_per_1k": ref_cpu,
        "cpu_ratio": _round(ks_cpu / ref_cpu, 2) if ks_cpu is not None and ref_cpu else None,
        "kstreamy_runs": cfg.kstreamy.rates,
        "reference_runs": cfg.reference.rates,
        "failures": cfg.kstreamy.failures + cfg.reference.failures,
        "calibration_task_us_per_record": cfg.calibrations,
    }


def table(rows: list[dict[str, Any]]) -> str:
    """The result lines as a fixed-width table."""

    def cell(value: Any, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    head = (f"{'config':<26} {'kstreamy/s':>10} {'ref/s':>9} {'ratio':>6} {'paired':>6} "
            f"{'normalized':>10} {'cpu ratio':>9} {'rounds':>6}")  # fmt: skip
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['config']:<26} {cell(r['kstreamy_median_records_per_s'], ',.0f'):>10} "
            f"{cell(r['reference_median_records_per_s'], ',.0f'):>9} "
            f"{cell(r['ratio'], '.3f'):>6} {cell(r['paired_ratio'], '.3f'):>6} "
            f"{cell(r['normalized_records_per_s'], ',.0f'):>10} "
            f"{cell(r['cpu_ratio'], '.2f'):>9} {r['rounds']:>6}"
        )
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5, help="rounds")
    parser.add_argument("--formats", default="msgpack,json")
    parser.add_argument("--guarantees", default="at_least_once,exactly_once_v2")
    parser.add_argument("--commit-interval-ms", type=int, default=100)
    parser.add_argument("--partitions", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=120.0, help="per run (seconds)")
    parser.add_argument("--max-seconds", type=float, default=540.0,
                        help="no round starts once the total would likely pass this")  # fmt: skip
    parser.add_argument("--reference-rate", type=int, default=REFERENCE_RATE,
                        help="reference records/s for the normalized figure")  # fmt: skip
    parser.add_argument("--no-changelog", dest="changelog", action="store_false",
                        help="the reference skips its changelog (kstreamy writes one)")  # fmt: skip
    parser.add_argument("--tune-gc", action="store_true", help="passed to both sides")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.records > 200_000:
        raise SystemExit("--records is capped at 200000 (shared machine)")
    formats = [f for f in args.formats.split(",") if f]
    guarantees = [g for g in args.guarantees.split(",") if g]
    for fmt in formats:
        if fmt not in ("json", "msgpack"):
            raise SystemExit(f"unknown format {fmt!r}: use json and/or msgpack")
    for guarantee in guarantees:
        if guarantee not in ("at_least_once", "exactly_once_v2"):
            raise SystemExit(f"unknown guarantee {guarantee!r}")
    configs = [Config(f, g) for f in formats for g in guarantees]
    started = time.monotonic()
    longest_round = 0.0
    for index in range(args.repeat):
        elapsed = time.monotonic() - started
        if index and elapsed + longest_round > args.max_seconds:
            print(f"stopping after {index} round(s): another would pass --max-seconds "
                  f"{args.max_seconds:.0f}", file=sys.stderr, flush=True)  # fmt: skip
            break
        print(f"round {index + 1}/{args.repeat} ({elapsed:.0f} s so far)", file=sys.stderr,
              flush=True)  # fmt: skip
        round_start = time.monotonic()
        run_round(index, configs, args)
        longest_round = max(longest_round, time.monotonic() - round_start)
    rows = [report(cfg, args.reference_rate) for cfg in configs]
    for row in rows:
        print(json.dumps(row), flush=True)
    print(table(rows), flush=True)
    total = time.monotonic() - started
    note = f"normalized = ratio * {args.reference_rate:,} (the reference loop's rate, issue #5)"
    print(f"total {total:.0f} s; {note}", flush=True)
    if any(row["failures"] for row in rows):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
