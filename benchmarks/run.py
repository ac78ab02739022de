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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import caps, loader, report, verify
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
Digests = dict[bytes | None, bytes | None]
MICRO_TIMEOUT_S = 600
"""Each micro benchmark script gets this long (all of them take ~3 minutes on 2 quiet cores)."""
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
        help="seconds per run (default 120 + 1 s per 2k records of the run's input, "
        "at least 1 s per 200 records up to 180 s more)",
    )
    p.add_argument(
        "--max-records",
        default=None,
        help="per-system input caps, e.g. 'faust=50000,quix:W3=200000' ('none': no caps; "
        f"default for a full run without --records: {caps.FULL_DEFAULT})",
    )
    p.add_argument(
        "--budget-min",
        type=float,
        default=None,
        help="stop starting runs after this many minutes (they are recorded as skipped)",
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
    if args.max_records is None and not args.quick and not args.records:
        args.max_records = caps.FULL_DEFAULT
    caps.parse(args.max_records)  # fail on a typo before the broker starts
    default_out = "quick.json" if args.quick else "latest.json"
    args.out = Path(args.out) if args.out else RESULTS / default_out
    return args


def records_for(workload: Workload, args: argparse.Namespace) -> int:
    if args.records:
        return int(args.records)
    return workload.quick_records if args.quick else workload.default_records


def default_timeout(records: int) -> float:
    """120 s + 1 s per 2k records, and at least 1 s per 200 records up to 180 s more.

    A large input must go at 2k records/s on average (slower systems are capped); a small,
    capped input still gives a system doing ~150 records/s time to finish.
    """
    return 120.0 + max(records / 2000, min(records / 200, 180.0))


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
        self.caps = caps.parse(args.max_records)
        budget = getattr(args, "budget_min", None)
        self.deadline: float | None = time.monotonic() + budget * 60 if budget else None

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

    def sizes(self, workload: Workload) -> dict[str, int]:
        """Input records per system for ``workload`` (smaller for capped systems)."""
        full = records_for(workload, self.args)
        return {
            name: caps.records_for(self.caps, name, workload.id, full) for name in self.args.systems
        }

    def run_workload(
        self,
        workload: Workload,
        progress: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Run every system ``--runs`` times on its input size; check outputs; summarise.

        A capped system reads its own smaller topic; when Java Kafka Streams did not run at that
        size, it is run once more there (unmeasured for the ratios) as the equality reference.
        ``progress`` gets the summary so far after every run (outputs not yet compared).
        """
        sizes = self.sizes(workload)
        inputs: dict[int, tuple[loader.InputTopics, dict[int, int]]] = {}
        for n in sorted({sizes[name] for name in self.systems}, reverse=True):
            topics = loader.load_dataset(self.bootstrap, workload.dataset, n, self.args.seed)
            inputs[n] = (topics, loader.end_offsets(self.bootstrap, topics.main))
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in self.systems}
        digests: dict[int, dict[str, Digests]] = {n: {} for n in inputs}
        stopped: set[str] = set()
        names = list(self.systems)
        for i in range(self.args.runs):
            order = names[i % len(names) :] + names[: i % len(names)] if names else []
            for name in order:
                if name in stopped:
                    result = self.skipped(workload, name, i, sizes[name], "an earlier run of "
                                          "this system timed out on this workload")  # fmt: skip
                else:
                    topics, end = inputs[sizes[name]]
                    result = self.run_once(workload, topics, end, name, i, digests[sizes[name]])
                    if result.status == "timeout":
                        stopped.add(name)
                runs[name].append(result.to_json())
                if progress is not None:
                    progress(self.entries(workload, sizes, runs, {}))
        references = self.reference_runs(workload, inputs, digests)
        entries = self.entries(workload, sizes, runs, references)
        for n, by_system in digests.items():
            self.check_outputs(workload, entries, by_system, n)
        return entries

    def entries(
        self,
        workload: Workload,
        sizes: dict[str, int],
        runs: dict[str, list[dict[str, Any]]],
        references: dict[int, dict[str, Any]],
    ) -> dict[str, Any]:
        """``workloads.<W>``: one summary per system (systems without runs yet are left out)."""
        entries: dict[str, Any] = {}
        full = records_for(workload, self.args)
        for name in self.args.systems:
            if name in self.unavailable:
                entries[name] = {"status": "unavailable", "error": self.unavailable[name],
                                 "records": sizes[name]}  # fmt: skip
                continue
            if not runs.get(name):
                continue
            entry = report.summarize(runs[name])
            entry["records"] = sizes[name]
            notes = [self.systems[name].notes.get(workload.id)]
            notes.append(caps.describe({name: sizes[name]}, full).get(name))
            if any(notes):
                entry["notes"] = " ".join(n for n in notes if n)
            if sizes[name] in references and name != REFERENCE_SYSTEM:
                entry["reference_run"] = references[sizes[name]]
            entries[name] = entry
        return entries

    def reference_runs(
        self,
        workload: Workload,
        inputs: dict[int, tuple[loader.InputTopics, dict[int, int]]],
        digests: dict[int, dict[str, Digests]],
    ) -> dict[int, dict[str, Any]]:
        """Run Java Kafka Streams once on each smaller input it has not processed."""
        out: dict[int, dict[str, Any]] = {}
        if self.args.no_verify or REFERENCE_SYSTEM not in self.systems:
            return out
        for n, (topics, end) in inputs.items():
            if REFERENCE_SYSTEM in digests[n] or not any(
                name != REFERENCE_SYSTEM for name in digests[n]
            ):
                continue
            log(f"{workload.id} {REFERENCE_SYSTEM}: reference run on the {n:,}-record input "
                "(equality check only)")  # fmt: skip
            result = self.run_once(workload, topics, end, REFERENCE_SYSTEM, -1, digests[n])
            out[n] = {key: result.to_json()[key] for key in
                      ("status", "error", "records", "records_per_s", "wall_s", "log")}  # fmt: skip
        return out

    def timeout_for(self, records: int) -> float | None:
        """This run's timeout; None when the time budget is spent (the run is skipped)."""
        timeout = float(self.args.timeout or default_timeout(records))
        if self.deadline is None:
            return timeout
        left = self.deadline - time.monotonic()
        if left < 30:
            return None
        return min(timeout, left)

    def skipped(
        self, workload: Workload, name: str, index: int, records: int, why: str
    ) -> RunResult:
        log(f"{workload.id} {name} run {index + 1}/{self.args.runs}: skipped ({why})")
        return RunResult(name, workload.id, index, records, status="skipped", error=why)

    def run_once(
        self,
        workload: Workload,
        inputs: loader.InputTopics,
        end: dict[int, int],
        name: str,
        index: int,
        digests: dict[str, Digests],
    ) -> RunResult:
        """One run; never raises (a harness error is recorded as the run's failure)."""
        timeout = self.timeout_for(inputs.records)
        if timeout is None:
            return self.skipped(workload, name, index, inputs.records,
                                f"time budget of {self.args.budget_min} min spent")  # fmt: skip
        system = self.systems[name]
        suffix = f"ref{inputs.records}" if index < 0 else str(index)
        app_id = f"bench-{workload.id.lower()}-{name}-{self.session}-{suffix}"
        spec = RunSpec(
            workload=workload,
            inputs=inputs,
            bootstrap=self.bootstrap,
            output_topic=f"{app_id}-out",
            app_id=app_id,
            commit_interval_ms=self.args.commit_interval_ms,
            state_dir=str(BUILD / "bench-state" / app_id),
        )
        result = RunResult(name, workload.id, index, inputs.records, app_id=app_id,
                           output_topic=spec.output_topic)  # fmt: skip
        label = "reference run" if index < 0 else f"run {index + 1}/{self.args.runs}"
        log(f"{workload.id} {name} {label} ({inputs.records} records, timeout {timeout:.0f} s)")
        try:
            loader.create_topics(self.bootstrap, [spec.output_topic])
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
        except Exception as exc:  # one broken run must not lose the others' results
            result.status = "failed" if result.status != "ok" else "ok"
            result.error = f"harness error: {type(exc).__name__}: {exc}"
            log(f"  -> {result.error}")
        finally:
            self.cleanup(app_id, spec.state_dir)
        return result

    def cleanup(self, app_id: str, state_dir: str) -> None:
        if not self.args.keep_topics:
            try:
                topics = [t for t in loader.topics_with_prefix(self.bootstrap, "") if app_id in t]
                loader.delete_topics(self.bootstrap, topics)
            except Exception as exc:
                log(f"  (could not delete the topics of {app_id}: {exc})")
        shutil.rmtree(state_dir, ignore_errors=True)

    def check_outputs(
        self, workload: Workload, entries: dict[str, Any], digests: dict[str, Digests], n: int
    ) -> None:
        """Compare each system's final values with the reference's on the same ``n`` records."""
        if self.args.no_verify or not digests:
            return
        if REFERENCE_SYSTEM in digests:
            reference = REFERENCE_SYSTEM
        elif REFERENCE_SYSTEM in self.systems:
            for name in digests:  # the reference failed at this size: nothing to compare with
                if name in entries:
                    entries[name]["output_equal"] = None
                    entries[name]["output_check"] = {
                        "reference": REFERENCE_SYSTEM,
                        "error": f"{REFERENCE_SYSTEM} has no output on the {n:,}-record input",
                    }
            return
        else:
            reference = next(iter(digests))
        for name, got in digests.items():
            comparison = verify.compare(name, got, reference, digests[reference])
            if name not in entries:
                continue
            check = comparison.to_json()
            check["records"] = n
            if entries[name].get("records") == n:
                entries[name]["output_equal"] = comparison.equal
                entries[name]["output_check"] = check
            if not comparison.equal:
                log(f"{workload.id} {name}: output differs from {reference} on {n:,} records: "
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
                argv,
                capture_output=True,
                text=True,
                cwd=ROOT,
                env=env,
                timeout=MICRO_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            out[script.stem] = {"returncode": None,
                                "error": f"timed out after {MICRO_TIMEOUT_S} s"}  # fmt: skip
            continue
        lines, text = [], []
        for line in proc.stdout.splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                if line.strip():
                    text.append(line.rstrip())
        out[script.stem] = {"returncode": proc.returncode, "results": lines}
        if text:  # scripts that print a table rather than JSON lines
            out[script.stem]["output"] = text[-40:]
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
                "max_records": args.max_records,
                "budget_min": args.budget_min,
            },
            "workload_specs": {},
            "workloads": {},
        }
        for wl in args.workloads:
            workload = WORKLOADS[wl]
            results["workload_specs"][wl] = {
                "description": workload.description,
                "records": records_for(workload, args),
                "records_by_system": bench.sizes(workload),
                "guarantee": workload.guarantee,
            }

            def progress(entries: dict[str, Any], wl: str = wl) -> None:
                results["workloads"][wl] = entries
                report.write_json(results, args.out)  # an interrupted run keeps every run

            try:
                results["workloads"][wl] = bench.run_workload(workload, progress)
            except Exception as exc:  # e.g. loading the input failed: keep the other workloads
                log(f"{wl} failed: {type(exc).__name__}: {exc}")
                error = f"harness error in {wl}: {type(exc).__name__}: {exc}"
                partial = results["workloads"].get(wl) or {}  # the runs done so far stay
                for name in args.systems:
                    partial.setdefault(name, {"status": "failed", "error": error})
                results["workloads"][wl] = partial
            report.add_ratios(results["workloads"])
            results["targets"] = report.evaluate_targets(results["workloads"])
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
