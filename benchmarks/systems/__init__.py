"""The benchmarked systems: how to prepare each one and how to launch one run of it.

Every system is launched with the same arguments (see :class:`RunSpec.argv`); the peers and
the kstreamy adapter parse them with :func:`benchmarks.peers.args.parse` or their own parser.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.loader import InputTopics
from benchmarks.measure import Launch
from benchmarks.workloads import Workload

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks"
BUILD = ROOT / "build"


class SystemUnavailable(RuntimeError):
    """A system cannot be prepared (no JDK, no network for pip, runtime not written yet...)."""


@dataclass(frozen=True)
class RunSpec:
    """Everything one run of one system needs to know."""

    workload: Workload
    inputs: InputTopics
    bootstrap: str
    output_topic: str
    app_id: str
    commit_interval_ms: int
    state_dir: str

    def argv(self) -> list[str]:
        """The common command-line arguments of every system's entry point."""
        args = [
            "--workload", self.workload.id,
            "--bootstrap", self.bootstrap,
            "--input", self.inputs.main,
            "--output", self.output_topic,
            "--app-id", self.app_id,
            "--guarantee", self.workload.guarantee,
            "--commit-interval-ms", str(self.commit_interval_ms),
            "--state-dir", self.state_dir,
        ]  # fmt: skip
        if self.inputs.products:
            args += ["--products", self.inputs.products]
        return args


@dataclass
class System:
    """One benchmarked system (subclasses fill in preparation and launching)."""

    name: str
    notes: dict[str, str] = field(default_factory=dict)

    def prepare(self) -> None:
        """Build or install what the system needs (cached); raise SystemUnavailable if not."""

    def launch(self, spec: RunSpec) -> Launch:
        raise NotImplementedError

    def group(self, spec: RunSpec) -> str:
        """The consumer group whose committed offsets mark completion."""
        return spec.app_id

    def count_format(self) -> str:
        """How W2's counts are encoded on the output topic: ``long`` or ``json``."""
        return "json"

    def version(self) -> str:
        return "unknown"


def _pythonpath() -> dict[str, str]:
    return {"PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


_PROBE = """
try:
    from kstreamy import KafkaStreams, StreamsBuilder
except ImportError:
    from kstreamy.dsl import StreamsBuilder
    from kstreamy.runtime.app import KafkaStreams
"""


class Kstreamy(System):
    """kstreamy itself, in the project's virtualenv (``benchmarks/systems/kstreamy_app.py``)."""

    def __init__(self) -> None:
        super().__init__("kstreamy", dict(KSTREAMY_NOTES))

    def prepare(self) -> None:
        probe = subprocess.run(
            [sys.executable, "-c", _PROBE],
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT,
        )
        if probe.returncode != 0:
            raise SystemUnavailable(
                "kstreamy's Kafka runtime is not importable yet "
                f"(KafkaStreams/StreamsBuilder import failed: "
                f"{probe.stderr.strip().splitlines()[-1] if probe.stderr.strip() else '?'})"
            )

    def launch(self, spec: RunSpec) -> Launch:
        script = BENCH / "systems" / "kstreamy_app.py"
        return Launch([sys.executable, str(script), *spec.argv()], _pythonpath(), str(ROOT))

    def count_format(self) -> str:
        return "long"

    def version(self) -> str:
        try:
            from importlib.metadata import version

            return version("kstreamy")
        except Exception:
            return "source"


class KafkaStreamsJava(System):
    """Apache Kafka Streams 4.x, the Maven project in ``benchmarks/peers/java``."""

    def __init__(self) -> None:
        super().__init__("kafka-streams", dict(JAVA_NOTES))
        self.project = BENCH / "peers" / "java"
        self.classpath: str | None = None

    def source_hash(self) -> str:
        h = hashlib.sha256()
        for path in sorted(self.project.rglob("*")):
            if path.is_file() and "target" not in path.parts:
                h.update(str(path.relative_to(self.project)).encode())
                h.update(path.read_bytes())
        return h.hexdigest()[:16]

    def prepare(self) -> None:
        if shutil.which("java") is None or shutil.which("mvn") is None:
            raise SystemUnavailable("Java Kafka Streams needs `java` (>= 17) and `mvn` on PATH")
        out = BUILD / "bench-java" / self.source_hash()
        done = out / "BUILT"
        if not done.is_file():
            shutil.rmtree(out, ignore_errors=True)
            shutil.copytree(self.project, out, ignore=shutil.ignore_patterns("target"))
            base = ["mvn", "-q", "-B", "-f", str(out / "pom.xml"), "compile"]
            proc = subprocess.run([*base, "-o"], capture_output=True, text=True, check=False)
            if proc.returncode != 0:  # offline first; fetch what ~/.m2 lacks only if needed
                proc = subprocess.run(base, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
                raise SystemUnavailable(f"building the Java peer failed in {out}:\n{tail}")
            done.write_text("ok\n")
        self.classpath = f"{out / 'target' / 'classes'}:{out / 'target' / 'libs'}/*"

    def launch(self, spec: RunSpec) -> Launch:
        assert self.classpath, "prepare() first"
        heap = os.environ.get("KSTREAMY_BENCH_JAVA_HEAP", "1g")
        argv = ["java", f"-Xmx{heap}", "-cp", self.classpath, "dev.kstreamy.bench.BenchApp"]
        return Launch([*argv, *spec.argv()], {}, str(ROOT))

    def count_format(self) -> str:
        return "long"

    def version(self) -> str:
        pom = (self.project / "pom.xml").read_text()
        marker = "<kafka.version>"
        start = pom.find(marker)
        return pom[start + len(marker) : pom.find("<", start + len(marker))] if start >= 0 else "?"


class VenvPeer(System):
    """A Python peer living in its own virtualenv (its client pins may differ from ours)."""

    def __init__(self, name: str, package: str, script: str, notes: dict[str, str]) -> None:
        super().__init__(name, notes)
        self.package = package
        self.script = BENCH / "peers" / script
        self.venv = BUILD / "bench-venvs" / name

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def prepare(self) -> None:
        marker = self.venv / ".kstreamy-bench"
        if marker.is_file() and self.python.exists():
            return
        if not self.python.exists():
            subprocess.run(["python3", "-m", "venv", str(self.venv)], check=True)
        proc = subprocess.run(
            [str(self.python), "-m", "pip", "install", "-q", self.package],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise SystemUnavailable(
                f"pip install {self.package} into {self.venv} failed:\n{proc.stderr[-2000:]}"
            )
        marker.write_text(self.package + "\n")

    def launch(self, spec: RunSpec) -> Launch:
        return Launch([str(self.python), str(self.script), *spec.argv()], _pythonpath(), str(ROOT))

    def version(self) -> str:
        proc = subprocess.run(
            [str(self.python), "-m", "pip", "show", self.package],
            capture_output=True,
            text=True,
            check=False,
        )
        for line in proc.stdout.splitlines():
            if line.startswith("Version:"):
                return line.split(":", 1)[1].strip()
        return "?"


KSTREAMY_NOTES = {
    "W3": "Runs the shopping-cart app's own build_topology() (apps/shopping_cart/topology.py): "
    "GlobalKTable left join, split/merge, aggregate into an LMDB store with record cache.",
}
KSTREAMY_NOTES["W4"] = KSTREAMY_NOTES["W3"] + " processing.guarantee=exactly_once_v2."
JAVA_NOTES = {
    "W3": "Same topology in the Kafka Streams DSL; CartLogic.java ports apps/shopping_cart/cart.py "
    "rule for rule on Jackson trees; RocksDB stores with the default record cache.",
}
JAVA_NOTES["W4"] = JAVA_NOTES["W3"] + " processing.guarantee=exactly_once_v2."
QUIX_NOTES = {
    "W3": "Quix Streams has no GlobalKTable: the products topic is read into a dict before "
    "processing starts (what a GlobalKTable does, by hand); its lookup joins need an external "
    "SQL/config service and join_asof/join_latest need co-partitioned topics.",
    "W2": "Stateful apply() on RocksDB state; emits every update (no record cache).",
}
QUIX_NOTES["W4"] = QUIX_NOTES["W3"] + " processing_guarantee='exactly-once'."
FAUST_NOTES = {
    "W3": "Faust has no joins: the products topic is read into a lookup dict before the agent "
    "starts; the cart is a Faust Table (RocksDB-free in-memory store with changelog).",
    "W2": "Agent updating a Faust Table (changelogged) and sending each new count.",
}
FAUST_NOTES["W4"] = FAUST_NOTES["W3"] + " processing_guarantee='exactly_once'."


def all_systems() -> dict[str, System]:
    """A fresh instance of every system, by name."""
    return {
        "kstreamy": Kstreamy(),
        "kafka-streams": KafkaStreamsJava(),
        "quix": VenvPeer("quix", "quixstreams", "quix_app.py", QUIX_NOTES),
        "faust": VenvPeer("faust", "faust-streaming", "faust_app.py", FAUST_NOTES),
    }
