"""Java and the Apache Kafka jars: find Java >= 17, fetch Kafka with Maven once, then reuse it.

The jars of ``org.apache.kafka:kafka_2.13`` (with its runtime dependencies and a log4j2 binding
for slf4j) are copied into ``<cache>/kafka-<version>/libs``. A ``COMPLETE`` marker written last
makes later runs use the directory without starting Maven at all, so they download nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kstreamy.broker.errors import BrokerError, with_alternatives

KAFKA_VERSION = "4.4.0"
"""The Apache Kafka release the dev broker runs (newest 4.x stable on Maven Central)."""

LOG4J_VERSION = "2.24.3"
"""log4j2 release bound to Kafka's slf4j 1.7 API (the same binding Kafka's tarball ships)."""

MIN_JAVA = 17
MAVEN_TIMEOUT_S = 900.0
_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies"

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.kstreamy</groupId>
  <artifactId>kstreamy-dev-broker</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId>
      <version>{kafka}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId>
      <version>{log4j}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId>
      <version>{log4j}</version>
    </dependency>
  </dependencies>
</project>
"""


def kafka_version() -> str:
    """The Kafka version to run: ``KSTREAMY_KAFKA_VERSION`` or :data:`KAFKA_VERSION`."""
    return os.environ.get("KSTREAMY_KAFKA_VERSION") or KAFKA_VERSION


def cache_root() -> Path:
    """``KSTREAMY_CACHE_DIR``, else ``$XDG_CACHE_HOME/kstreamy``, else ``~/.cache/kstreamy``."""
    explicit = os.environ.get("KSTREAMY_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "kstreamy"


@dataclass(frozen=True)
class KafkaJars:
    """A complete local copy of one Kafka release's jars."""

    version: str
    libs: Path

    @property
    def classpath(self) -> str:
        """A JVM classpath wildcard naming every jar of the release."""
        return str(self.libs / "*")


def find_java() -> str:
    """Return the path of a ``java`` executable of version >= 17, or raise :class:`BrokerError`."""
    home = os.environ.get("JAVA_HOME")
    candidate = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not candidate or not Path(candidate).exists():
        raise BrokerError(
            with_alternatives(
                "Java was not found: the dev broker runs Apache Kafka, which needs Java "
                f"{MIN_JAVA} or newer. Install a JDK or JRE >= {MIN_JAVA} (for example "
                "`apt-get install openjdk-17-jre-headless`) and put `java` on PATH or set "
                "JAVA_HOME."
            )
        )
    major = java_major_version(candidate)
    if major < MIN_JAVA:
        raise BrokerError(
            with_alternatives(
                f"{candidate} is Java {major}, but Apache Kafka {kafka_version()} needs Java "
                f">= {MIN_JAVA}. Install Java {MIN_JAVA} or newer and put it first on PATH or "
                "point JAVA_HOME at it."
            )
        )
    return candidate


def java_major_version(java: str) -> int:
    """The major version of ``java`` (``java -version`` prints e.g. ``"17.0.15"``); 0 if unknown."""
    try:
        proc = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return 0
    match = re.search(r'version "(\d+)(?:\.(\d+))?', proc.stderr + proc.stdout)
    if not match:
        return 0
    major = int(match.group(1))
    # Java 8 and older report "1.8.0_x".
    return int(match.group(2) or 0) if major == 1 else major


def cached_kafka(version: str | None = None) -> KafkaJars | None:
    """The cached jars of ``version`` when a previous fetch completed, else ``None``."""
    version = version or kafka_version()
    home = cache_root() / f"kafka-{version}"
    if (home / "COMPLETE").is_file() and (home / "libs").is_dir():
        return KafkaJars(version, home / "libs")
    return None


def ensure_kafka(version: str | None = None, *, quiet: bool = False) -> KafkaJars:
    """Return Kafka's jars, fetching them with Maven into the cache on the first call only."""
    version = version or kafka_version()
    found = cached_kafka(version)
    if found:
        return found
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root / f"kafka-{version}.lock"):
        found = cached_kafka(version)  # another process may have fetched while we waited
        if found:
            return found
        return _fetch(version, root / f"kafka-{version}", quiet=quiet)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fetch(version: str, home: Path, *, quiet: bool) -> KafkaJars:
    mvn = shutil.which("mvn")
    if not mvn:
        raise BrokerError(
            with_alternatives(
                f"Maven (`mvn`) was not found, and Apache Kafka {version} is not cached yet in "
                f"{home}. The dev broker fetches Kafka's jars from Maven Central once with "
                "Maven: install it (for example `apt-get install maven`) and retry."
            )
        )
    if not quiet:
        print(f"Fetching Apache Kafka {version} with Maven into {home} (once) ...", flush=True)
    staging = home.with_name(home.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="kstreamy-mvn-") as project:
        pom = Path(project) / "pom.xml"
        pom.write_text(_POM.format(kafka=version, log4j=LOG4J_VERSION))
        cmd = [
            mvn, "-q", "-B", "-f", str(pom), _DEPENDENCY_PLUGIN,
            f"-DoutputDirectory={staging / 'libs'}", "-DincludeScope=runtime",
        ]  # fmt: skip
        # Offline first: a warm ~/.m2 needs no network at all; go online only if that fails.
        proc = _run_maven([*cmd, "-o"])
        if proc.returncode != 0:
            proc = _run_maven(cmd)
    jars = sorted(p.name for p in (staging / "libs").glob("*.jar"))
    if proc.returncode != 0 or not any(j.startswith("kafka_2.13-") for j in jars):
        raise BrokerError(
            with_alternatives(
                f"Maven could not fetch org.apache.kafka:kafka_2.13:{version} from Maven "
                f"Central (exit code {proc.returncode}). Check network access to "
                "repo.maven.apache.org (and any proxy in ~/.m2/settings.xml), or set "
                "KSTREAMY_KAFKA_VERSION to a release Maven Central serves."
            ),
            log_tail=_tail_text(proc.stdout, 30),
        )
    (staging / "COMPLETE").write_text("\n".join(jars) + "\n")
    shutil.rmtree(home, ignore_errors=True)
    staging.rename(home)
    return KafkaJars(version, home / "libs")


def _run_maven(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=MAVEN_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BrokerError(
            with_alternatives(
                f"Maven did not finish fetching Apache Kafka within {MAVEN_TIMEOUT_S:.0f} s. "
                "Check network access to repo.maven.apache.org and retry."
            )
        ) from exc


def _tail_text(text: str | None, lines: int) -> str:
    return "\n".join((text or "").splitlines()[-lines:])
