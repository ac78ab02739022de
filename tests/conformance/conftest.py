"""Make `tests.conformance` importable under pytest's importlib mode (the repo root on sys.path)."""

from __future__ import annotations

import sys
from pathlib import Path

_REPO = str(Path(__file__).resolve().parents[2])
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)
