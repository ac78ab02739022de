"""Differential conformance run: `python -m tests.conformance.run --scenarios N --seed S`.

Generates N scenarios spread over the catalogue, runs them through Kafka Streams (one JVM) and
kstreamy, compares describe() texts and outputs, shrinks the first mismatch of each topology and
prints a summary (scenarios run, mismatches per topology). Exit status 1 on any mismatch.

By default only topologies that kstreamy supports are compared; `--ids` picks some, `--all`
includes the unsupported ones (they then show up as mismatches), `--java-only` just checks that
the Java side runs every scenario without error.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections import Counter
from typing import Any

from tests.conformance import compare, runner
from tests.conformance.generator import generate
from tests.conformance.java_side import JavaRunner
from tests.conformance.topologies import CATALOGUE


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.conformance.run", description=__doc__)
    p.add_argument("--scenarios", type=int, default=5000, help="total scenarios (default 5000)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--max-steps", type=int, default=12)
    p.add_argument("--ids", nargs="*", help="topology ids (default: every supported one)")
    p.add_argument("--all", action="store_true", help="include topologies kstreamy lacks")
    p.add_argument("--java-only", action="store_true", help="only run the Java side")
    p.add_argument("--no-shrink", action="store_true")
    p.add_argument("--reproducers", type=int, default=1, help="distinct reproducers per topology")
    p.add_argument("--report", help="also write the describe diffs and reproducers to this file")
    p.add_argument("--replay", help="run the scenarios of this JSONL file instead of generating")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # skipped-record warnings would drown the summary

    ids = args.ids or [
        i for i, s in CATALOGUE.items() if args.all or args.java_only or s.kstreamy_supported
    ]
    unknown = [i for i in ids if i not in CATALOGUE]
    if unknown:
        p.error(f"unknown topology ids {unknown}; known: {sorted(CATALOGUE)}")
    if args.replay:
        with open(args.replay) as f:
            scenarios = [json.loads(line) for line in f if line.strip()]
        ids = list(dict.fromkeys(sc["topology"] for sc in scenarios))
    else:
        per = max(1, -(-args.scenarios // len(ids)))
        scenarios = generate(ids, per, args.seed, max_steps=args.max_steps)
    skipped: dict[str, list[str]] = {}
    for i, s in CATALOGUE.items():
        if i not in ids:
            skipped.setdefault(s.reason or "not selected", []).append(i)

    started = time.monotonic()
    bad: Counter[str] = Counter()
    ran: Counter[str] = Counter()
    first: dict[str, list[dict[str, Any]]] = {}
    report: list[str] = []
    with JavaRunner() as java:
        java_ids = set(java.ids())
        missing = [i for i in ids if i not in java_ids]
        if missing:
            print(f"Java catalogue lacks {missing}", file=sys.stderr)
            return 2
        describe_bad: list[str] = []
        if not args.java_only:
            for tid in ids:
                diff = compare.describe_difference(java.describe(tid), runner.describe(tid))
                if diff:
                    describe_bad.append(tid)
                    report.append(diff)
                    print(diff)
        for sc in scenarios:
            ran[sc["topology"]] += 1
            j = java.run(sc)
            if args.java_only:
                if j["error"]:
                    bad[sc["topology"]] += 1
                    first.setdefault(sc["topology"], []).append(sc)
                    print(f"Java error in {sc['id']}: {j['error']}")
                continue
            if compare.difference(j, runner.run(sc)) is not None:
                bad[sc["topology"]] += 1
                first.setdefault(sc["topology"], []).append(sc)
        if not args.java_only:
            for tid, failing in first.items():
                seen: list[list[dict[str, Any]]] = []
                for sc in failing[: args.reproducers * 3]:
                    small = sc if args.no_shrink else compare.shrink(java.run, sc)
                    if small["steps"] in seen:
                        continue
                    seen.append(small["steps"])
                    text = f"=== mismatch in {tid}; minimal reproducer:\n" + compare.reproducer(
                        java.run, small
                    )
                    report.append(text)
                    print("\n" + text)
                    if len(seen) >= args.reproducers:
                        break

    if args.report:
        with open(args.report, "w") as f:
            f.write("\n\n".join(report) + "\n")
    elapsed = time.monotonic() - started
    print(
        f"\n{sum(ran.values())} scenarios over {len(ids)} topologies"
        f" in {elapsed:.1f}s (seed {args.seed})"
    )
    for reason, names in skipped.items():
        print(f"not compared ({reason}): {', '.join(names)}")
    if not args.java_only and describe_bad:
        print(f"describe() mismatches: {', '.join(describe_bad)}")
    for tid in ids:
        status = f"{bad[tid]} mismatches" if bad[tid] else "ok"
        print(f"  {tid:28} {ran[tid]:6} scenarios  {status}")
    total = sum(bad.values()) + (0 if args.java_only else len(describe_bad))
    print(f"{sum(ran.values()) - sum(bad.values())} passed, {sum(bad.values())} failed")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
