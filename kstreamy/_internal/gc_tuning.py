"""Garbage-collector settings for a worker's processing loop.

The per-record path allocates a handful of short-lived objects per record (records, contexts,
decoded values), none of them in reference cycles, so CPython's default generation-0 threshold
(700 allocations) runs a collection every few dozen records, and each older-generation pass
walks every long-lived object of the process (topology, stores, client state). Raising the
thresholds and freezing what exists at start (`gc.freeze`: moved to a permanent generation the
collector never scans) keeps cycle collection, at a fraction of its cost.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

GEN0_THRESHOLD = 50_000
GEN1_THRESHOLD = 20
GEN2_THRESHOLD = 100


def tune_gc_for_processing() -> tuple[int, int, int]:
    """Freeze the objects alive now and raise the collection thresholds; returns the previous
    thresholds (for `restore_gc`). Call it once a worker's tasks are built, before its loop."""
    previous = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(GEN0_THRESHOLD, GEN1_THRESHOLD, GEN2_THRESHOLD)
    return previous


def restore_gc(previous: tuple[int, int, int]) -> None:
    """Undo `tune_gc_for_processing` (thresholds back; frozen objects scanned again)."""
    gc.set_threshold(*previous)
    gc.unfreeze()


GC_TUNING_CONFIG = "kstreamy.gc.tuning"
"""Streams config key (default true): whether a worker applies `tune_gc_for_processing` while it
processes. The thresholds are process-wide: set it to false when the process also runs other
allocation-heavy work that needs the default collector cadence."""

_lock = threading.Lock()
_users = 0
_previous: tuple[int, int, int] | None = None


@contextmanager
def processing_gc(enabled: bool = True) -> Iterator[None]:
    """Tuned collection while the block runs. Workers of one process share the settings: the
    first to enter tunes, the last to leave restores what was there before."""
    global _users, _previous
    if not enabled:
        yield
        return
    with _lock:
        if _users == 0:
            _previous = tune_gc_for_processing()
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0 and _previous is not None:
                restore_gc(_previous)
                _previous = None
