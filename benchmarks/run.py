"""Run the benchmarks: ``python -m benchmarks.run [--quick] [--workloads W2,W3] [--systems ...]``.

For each workload: load its input once (reused by every system and run), then run each system
``--runs`` times from the beginning of the input, each run with its own application id and
output topic, measuring it with :mod:`benchmarks.measure`; check the final value per key of
every system's output against Java Kafka Streams' (:mod:`benchmarks.verify`); write the results
JSON and the chart (:mod:`benchmarks.report`). Without ``--bootstrap``/``$KSTREAMY_BOOTSTRAP`` a
dev broker is started in ``build/bench-broker`` (and stopped at the end).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks import loader, report, verify
from benchmarks.data import DEFAULT_SEED
from benchmarks.measure import RunResult, run_system
from benchmarks.systems import BUILD, ROOT, RunSpec, System, SystemUnavailable, all_systems
from benchmarks.workloads import (
    ALL_SYSTEMS,
    ALL_WORKLOADS,
    REFERENCE_SYSTEM,
    WORKLOADS,
    Workload,
    parse_list,
)

RESULTS = ROOT / "benchmarks" / "results"
QUICK_WORKLOADS = "W2,W3"
QUICK_SYSTEMS = "kstreamy,kafka-streams"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    p.add_argument("--workloads", default=None, help=f"comma list of {','.join(ALL_WORKLOADS)}")
    p.add_argument("--systems", default=None, help=f"comma list of {','.join(ALL_SYSTEMS)}")
    p.add_argument(
        "--records",
        type=int,
        default=None,
        help="input records per workload (default: each workload's own size)",
    )
    p.add_argument("--runs", type=int, default=None, help="runs per system (default 3; quick 1)")
    p.add_argument(
        "--bootstrap", default=None, help="Kafka bootstrap (default $KSTREAMY_BOOTSTRAP)"
    )
    p.add_argument(
        "--broker-port",
        type=int,
        default=39092,
        help="port of the dev broker started when no bootstrap is given",
    )
    p.add_argument(
        "--broker-dir",
        default=str(BUILD / "bench-broker"),
        help="directory of that dev broker (default build/bench-broker)",
    )
    p.add_argument("--out", default=None, help="results JSON (default results/latest.json)")
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_WORKLOADS} at 100k records, {QUICK_SYSTEMS}, one run each",
    )
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument(
        "--commit-interval-ms",
        type=int,
        default=1000,
        help="commit interval given to every system (default 1000)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds per run (default 120 + 1 s per 1k records)",
    )
    p.add_argument("--micro", action="store_true", help="also run benchmarks/micro/*.py")
    p.add_argument("--keep-topics", action="store_true", help="keep output/internal topics")
    p.add_argument("--no-verify", action="store_true", help="skip the output equality check")
    args = p.parse_args(argv)
    args.workloads = parse_list(
        args.workloads or (QUICK_WORKLOADS if args.quick else ",".join(ALL_WORKLOADS)),
        ALL_WORKLOADS,
        "workload",
    )
    args.systems = parse_list(
        args.systems or (QUICK_SYSTEMS if args.quick else ",".join(ALL_SYSTEMS)),
        ALL_SYSTEMS,
        "system",
    )
    args.runs = args.runs or (1 if args.quick else 3)
    default_out = "quick.json" if args.quick else "latest.json"
    args.out = Path(args.out) if args.out else RESULTS / default_out
    return args


def records_for(workload: Workload, args: argparse.Namespace) -> int:
    if args.records:
        return int(args.records)
    return workload.quick_records if args.quick else workload.default_records


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Bench:
    """One invocation: the broker, the prepared systems, and the collected results."""

    def __init__(self, args: argparse.Namespace, bootstrap: str) -> None:
        self.args = args
        self.bootstrap = bootstrap
        self.systems: dict[str, System] = {}
        self.unavailable: dict[str, str] = {}
        self.session = dt.datetime.now(dt.UTC).strftime("%H%M%S") + uuid.uuid4().hex[:4]
        self.logs = BUILD / "bench-logs" / self.session

    def prepare(self) -> None:
        every = all_systems()
        for name in self.args.systems:
            system = every[name]
            log(f"preparing {name} ...")
            try:
                system.prepare()
                self.systems[name] = system
            except (SystemUnavailable, OSError, subprocess.CalledProcessError) as exc:
                self.unavailable[name] = str(exc)
                log(f"{name} unavailable: {exc}")

    def run_workload(self, workload: Workload) -> dict[str, Any]:
        records = records_for(workload, self.args)
        inputs = loader.load_dataset(self.bootstrap, workload.dataset, records, self.args.seed)
        end = loader.end_offsets(self.bootstrap, inputs.main)
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in self.systems}
        digests: dict[str, dict[bytes | None, bytes | None]] = {}
        timeout = self.args.timeout or 120 + records / 1000
        names = list(self.systems)
        for i in range(self.args.runs):
            order = names[i % len(names) :] + names[: i % len(names)] if names else []
            for name in order:
                result = self.run_once(workload, inputs, end, name, i, timeout, digests)
                runs[name].append(result.to_json())
        entries: dict[str, Any] = {}
        for name in self.args.systems:
            if name in self.unavailable:
                entries[name] = {"status": "unavailable", "error": self.unavailable[name]}
                continue
            entry = report.summarize(runs[name])
            note = self.systems[name].notes.get(workload.id)
            if note:
                entry["notes"] = note
            entries[name] = entry
        self.check_outputs(workload, entries, digests)
        return entries

    def run_once(
        self,
        workload: Workload,
        inputs: loader.InputTopics,
        end: dict[int, int],
        name: str,
        index: int,
        timeout: float,
        digests: dict[str, dict[bytes | None, bytes | None]],
    ) -> RunResult:
        system = self.systems[name]
        app_id = f"bench-{workload.id.lower()}-{name}-{self.session}-{index}"
        spec = RunSpec(
            workload=workload,
            inputs=inputs,
            bootstrap=self.bootstrap,
            output_topic=f"{app_id}-out",
            app_id=app_id,
            commit_interval_ms=self.args.commit_interval_ms,
            state_dir=str(BUILD / "bench-state" / app_id),
        )
        loader.create_topics(self.bootstrap, [spec.output_topic])
        result = RunResult(name, workload.id, index, inputs.records, app_id=app_id,
                           output_topic=spec.output_topic)  # fmt: skip
        log(f"{workload.id} {name} run {index + 1}/{self.args.runs} ({inputs.records} records)")
        run_system(
            system.launch(spec),
            result,
            bootstrap=self.bootstrap,
            group=system.group(spec),
            watch_topic=inputs.main,
            end=end,
            timeout_s=timeout,
            log_path=self.logs / f"{app_id}.log",
        )
        log(
            f"  -> {result.status}: {result.records_per_s or 0:,.0f} rec/s, "
            f"cpu {result.cpu_s_per_1k} s/1k, rss {result.peak_rss_mb} MB"
            + (f" ({result.error})" if result.error else "")
        )
        if result.status == "ok" and name not in digests and not self.args.no_verify:
            fmt = system.count_format() if workload.count_output else "json"
            digests[name] = verify.final_digests(
                verify.read_topic(self.bootstrap, spec.output_topic), fmt
            )
        if not self.args.keep_topics:
            topics = [t for t in loader.topics_with_prefix(self.bootstrap, "") if app_id in t]
            loader.delete_topics(self.bootstrap, topics)
        shutil.rmtree(spec.state_dir, ignore_errors=True)
        return result

    def check_outputs(
        self,
        workload: Workload,
        entries: dict[str, Any],
        digests: dict[str, dict[bytes | None, bytes | None]],
    ) -> None:
        if self.args.no_verify or not digests:
            return
        reference = REFERENCE_SYSTEM if REFERENCE_SYSTEM in digests else next(iter(digests))
        for name, got in digests.items():
            comparison = verify.compare(name, got, reference, digests[reference])
            entries[name]["output_equal"] = comparison.equal
            entries[name]["output_check"] = comparison.to_json()
            if not comparison.equal:
                log(f"{workload.id} {name}: output differs from {reference}: "
                    f"{comparison.examples}")  # fmt: skip


def run_micro(bootstrap: str, directory: Path = ROOT / "benchmarks" / "micro") -> dict[str, Any]:
    """Run every ``benchmarks/micro/*.py``; collect the JSON lines each prints.

    Scripts that take ``--bootstrap`` get the harness's broker (and all get
    ``$KSTREAMY_BOOTSTRAP``).
    """
    out: dict[str, Any] = {}
    for script in sorted(directory.glob("*.py")):
        if script.name.startswith("_"):
            continue
        log(f"micro: {script.name}")
        argv = [sys.executable, str(script)]
        if '"--bootstrap"' in script.read_text():
            argv += ["--bootstrap", bootstrap]
        env = {**os.environ, "PYTHONPATH": str(ROOT), "KSTREAMY_BOOTSTRAP": bootstrap}
        try:
            proc = subprocess.run(
                argv, capture_output=True, text=True, cwd=ROOT, env=env, timeout=1800, check=False
            )
        except subprocess.TimeoutExpired:
            out[script.stem] = {"returncode": None, "error": "timed out after 1800 s"}
            continue
        lines = []
        for line in proc.stdout.splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
        out[script.stem] = {"returncode": proc.returncode, "results": lines}
        if proc.returncode != 0:
            out[script.stem]["stderr_tail"] = proc.stderr[-2000:]
    return out


def versions(bench: Bench) -> dict[str, Any]:
    import confluent_kafka

    out: dict[str, Any] = {
        "confluent-kafka": getattr(confluent_kafka, "__version__", "?"),
        "librdkafka": confluent_kafka.libversion()[0],
    }
    try:
        from kstreamy.broker import KAFKA_VERSION

        out["kafka_broker"] = KAFKA_VERSION
    except ImportError:
        out["kafka_broker"] = "?"
    for name, system in bench.systems.items():
        out[name] = system.version()
    return out


def start_broker(port: int, directory: str) -> tuple[str, Any]:
    """Reuse the dev broker running in ``directory``, or start one tied to this process.

    Returns the bootstrap and the broker to stop at the end (None when it was already running).
    """
    from kstreamy.broker import DevBroker

    broker = DevBroker(directory, port)
    status = broker.status()
    if status.running and status.bootstrap:
        log(f"using the dev broker already running in {directory} at {status.bootstrap}")
        return status.bootstrap, None
    log(f"starting a dev broker on 127.0.0.1:{port} in {directory} ...")
    return broker.start(tie_to_parent=True), broker


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bootstrap = args.bootstrap or os.environ.get("KSTREAMY_BOOTSTRAP")
    broker = None
    if not bootstrap:
        bootstrap, broker = start_broker(args.broker_port, args.broker_dir)
    try:
        bench = Bench(args, bootstrap)
        bench.prepare()
        started = time.time()
        results: dict[str, Any] = {
            "schema": report.SCHEMA,
            "mode": "quick" if args.quick else "full",
            "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": report.machine_info(),
            "versions": versions(bench),
            "settings": {
                "runs": args.runs,
                "seed": args.seed,
                "partitions": 4,
                "commit_interval_ms": args.commit_interval_ms,
                "reference": REFERENCE_SYSTEM,
                "kstreamy_threads": int(os.environ.get("KSTREAMY_BENCH_THREADS", "1")),
                "java_threads": int(os.environ.get("KSTREAMY_BENCH_JAVA_THREADS", "1")),
                "java_heap": os.environ.get("KSTREAMY_BENCH_JAVA_HEAP", "1g"),
            },
            "workload_specs": {},
            "workloads": {},
        }
        for wl in args.workloads:
            workload = WORKLOADS[wl]
            results["workload_specs"][wl] = {
                "description": workload.description,
                "records": records_for(workload, args),
                "guarantee": workload.guarantee,
            }
            results["workloads"][wl] = bench.run_workload(workload)
            report.add_ratios(results["workloads"])
            report.write_json(results, args.out)  # partial results survive an interruption
        results["targets"] = report.evaluate_targets(results["workloads"])
        if args.micro:
            results["micro"] = run_micro(bootstrap)
        results["duration_s"] = round(time.time() - started, 1)
        report.write_json(results, args.out)
        png = args.out.with_suffix(".png")
        drew = report.plot(results, png)
        print(report.markdown_table(results))
        for target in results["targets"]:
            print(f"target {target['name']}: ratio {target['ratio']} (goal {target['goal']}) "
                  f"met={target['met']}")  # fmt: skip
        log(f"wrote {args.out}" + (f" and {png}" if drew else " (no chart: matplotlib missing)"))
        return 0
    finally:
        if broker is not None:
            broker.stop()


if __name__ == "__main__":
    sys.exit(main())
