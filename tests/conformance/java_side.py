"""The Java side: build the Maven project once (cached by content hash) and talk to one JVM.

The build output goes to `build/conformance-java/<hash of pom + sources>/` (classes and a
`lib/` of dependency jars); an existing, complete build is reused without calling Maven. Maven
runs offline first and goes online only if the local repository lacks something. A file lock
keeps concurrent sessions from building the same directory twice.

`JavaRunner` keeps a single `conf.Runner` JVM for its whole life: requests and answers are JSON
lines over its stdin/stdout, so thousands of scenarios (and every shrinking round) share one JVM.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
JAVA_DIR = HERE / "java"
REPO = HERE.parent.parent
BUILD_ROOT = REPO / "build" / "conformance-java"


class JavaUnavailable(RuntimeError):
    """`java` or `mvn` is not on PATH."""


def source_hash() -> str:
    h = hashlib.sha256()
    files = [JAVA_DIR / "pom.xml", *sorted((JAVA_DIR / "src").rglob("*.java"))]
    for f in files:
        h.update(str(f.relative_to(JAVA_DIR)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def build(verbose: bool = False) -> Path:
    """The build directory for the current sources, building it if needed."""
    if shutil.which("java") is None:
        raise JavaUnavailable("the conformance suite needs `java` (17+) on PATH")
    out = BUILD_ROOT / source_hash()
    marker = out / "BUILD-OK"
    if marker.exists():
        return out
    if shutil.which("mvn") is None:
        raise JavaUnavailable("building the conformance runner needs `mvn` on PATH")
    BUILD_ROOT.mkdir(parents=True, exist_ok=True)
    with open(BUILD_ROOT / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():
            return out
        tmp = Path(tempfile.mkdtemp(prefix="tmp-", dir=BUILD_ROOT))
        base = ["mvn", "-q", "-B", "-DskipTests", f"-DbuildDir={tmp}", "package"]
        log = ""
        for cmd in (["mvn", "-o", *base[1:]], base):
            proc = subprocess.run(
                cmd, cwd=JAVA_DIR, capture_output=True, text=True, timeout=900, check=False
            )
            log += proc.stdout + proc.stderr
            if proc.returncode == 0:
                break
        else:
            shutil.rmtree(tmp, ignore_errors=True)
            raise RuntimeError(f"building the Java conformance runner failed:\n{log[-4000:]}")
        if verbose:
            print(log)
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
        marker.write_text("ok\n")
        for stale in BUILD_ROOT.iterdir():  # builds of older sources
            if stale.is_dir() and stale != out:
                shutil.rmtree(stale, ignore_errors=True)
    return out


def classpath(build_dir: Path) -> str:
    return os.pathsep.join([str(build_dir / "classes"), str(build_dir / "lib" / "*")])


class JavaRunner:
    """One long-lived JVM running `conf.Runner`; `request` sends a JSON line, returns the answer."""

    def __init__(self, build_dir: Path | None = None) -> None:
        build_dir = build_dir or build()
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self._proc = subprocess.Popen(
            ["java", "-Xmx512m", "-XX:+UseSerialGC", "-cp", classpath(build_dir), "conf.Runner"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            bufsize=1,
        )

    def request(self, payload: dict[str, Any]) -> dict[str, Any]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps(payload) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            self._stderr.seek(0)
            err = self._stderr.read().decode(errors="replace")[-4000:]
            raise RuntimeError(f"the Java conformance runner exited unexpectedly:\n{err}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def run(self, scenario: dict[str, Any]) -> dict[str, Any]:
        return self.request(scenario)

    def describe(self, topology_id: str) -> dict[str, Any]:
        return self.request({"describe": topology_id})

    def ids(self) -> list[str]:
        ids: list[str] = self.request({"list": True})["list"]
        return ids

    def close(self) -> None:
        if self._proc.poll() is None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._stderr.close()

    def __enter__(self) -> JavaRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
