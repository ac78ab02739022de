"""The tiny stdout protocol between a benchmarked system and the harness (standard library only).

A system prints JSON lines on stdout; the harness reads them and ignores every other line:

* ``{"event": "ready", "t": <epoch s>}`` — optional: the system is up (topology built, clients
  created); useful in logs, not used for timing.
* ``{"event": "first_consumed", "t": <epoch s>}`` — the first input record reached the system's
  processing code. The measured interval starts here.
* ``{"event": "error", "t": ..., "message": "..."}`` — the system failed; the run is void.

The end of the interval is observed by the harness itself: the moment the application's consumer
group has committed offsets equal to the input's end offsets (all input processed, its output
flushed or its transaction committed). ``t`` is wall-clock epoch seconds (``time.time()``), the
only clock the harness and a JVM share.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

READY = "ready"
FIRST_CONSUMED = "first_consumed"
ERROR = "error"


def emit(event: str, **fields: Any) -> None:
    """Print one protocol line (flushed at once: the harness timestamps on arrival too)."""
    line = json.dumps({"event": event, "t": time.time(), **fields}, separators=(",", ":"))
    # The real stdout: some frameworks (Faust) replace sys.stdout with a logging proxy.
    out = sys.__stdout__ or sys.stdout
    out.write(line + "\n")
    out.flush()


def parse_line(line: str) -> dict[str, Any] | None:
    """The protocol message on ``line``, or ``None`` for any other output."""
    # A logging prefix may precede the object ("[WARNING] {...}"): start at the first "{".
    start = line.find('{"event"')
    if start < 0:
        return None
    text = line[start:].strip()
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("event"), str):
        return None
    if not isinstance(obj.get("t"), int | float):
        return None
    return obj
