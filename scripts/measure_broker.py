"""Measure the dev broker: Kafka fetch (cold or warm cache) and start-to-ready time.

Usage: .venv/bin/python scripts/measure_broker.py [--starts N] [--cold-cache DIR]
``--cold-cache DIR`` fetches into an empty jar cache and Maven repository under DIR first, to
time a first run on a new machine (downloads ~65 MB from Maven Central).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from kstreamy.broker import DevBroker, ensure_kafka
from kstreamy.broker.config import free_port


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=3, help="broker starts to time (default 3)")
    parser.add_argument("--cold-cache", type=Path, default=None)
    args = parser.parse_args()

    if args.cold_cache:
        shutil.rmtree(args.cold_cache, ignore_errors=True)
        os.environ["KSTREAMY_CACHE_DIR"] = str(args.cold_cache / "jars")
        os.environ["MAVEN_OPTS"] = f"-Dmaven.repo.local={args.cold_cache / 'm2'}"
        began = time.monotonic()
        ensure_kafka(quiet=True)
        print(f"fetch, cold cache: {time.monotonic() - began:.1f} s")
    began = time.monotonic()
    ensure_kafka(quiet=True)
    print(f"fetch, warm cache: {time.monotonic() - began:.2f} s")

    times = []
    for _ in range(max(1, args.starts)):
        directory = Path(tempfile.mkdtemp(prefix="kstreamy-measure-"))
        broker = DevBroker(directory, free_port())
        began = time.monotonic()
        try:
            broker.start(tie_to_parent=True)
            times.append(time.monotonic() - began)
        finally:
            broker.stop()
            shutil.rmtree(directory, ignore_errors=True)
    print(
        f"start-to-ready (fresh dir, with storage format): median"
        f" {statistics.median(times):.1f} s,"
        f" min {min(times):.1f} s, max {max(times):.1f} s over {len(times)} starts"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
