"""Running the ``kstreamy`` command in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def kstreamy(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 150.0
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m kstreamy ARGS`` with captured output (pipes), like CI does."""
    return subprocess.run(
        [sys.executable, "-m", "kstreamy", *args],
        cwd=REPO,
        env=dict(env if env is not None else os.environ),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
