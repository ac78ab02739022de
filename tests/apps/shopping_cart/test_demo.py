"""``make demo`` end to end: the scripted session runs to the end and everything stops."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(300)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_demo_runs_to_the_end(kafka_bootstrap: str, tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "apps.shopping_cart.demo", "--bootstrap", kafka_bootstrap]
    cmd += ["--write-port", str(free_port()), "--read-port", str(free_port())]
    cmd += ["--workdir", str(tmp_path)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=240)
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-3000:]
    assert "the demo ran to the end" in out
    # The seed's cart after add 1, add 1, add 2, add 2, remove 2: then the last 2 is removed.
    assert '"cartTotal": "255000.00"' in out
    assert '"status": "CHECKED_OUT"' in out and '"unknownItems": [\n    "999"\n  ]' in out
    for name in ("aggregator", "read_model", "read_api", "write_api"):
        assert f"stopped {name} (exit code 0)" in out
