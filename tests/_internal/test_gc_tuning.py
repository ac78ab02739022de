"""gc_tuning: a worker's collector settings are raised and frozen, then restored."""

from __future__ import annotations

import gc

from kstreamy._internal.gc_tuning import GEN0_THRESHOLD, restore_gc, tune_gc_for_processing


def test_tune_then_restore() -> None:
    before = gc.get_threshold()
    previous = tune_gc_for_processing()
    try:
        assert previous == before
        assert gc.get_threshold()[0] == GEN0_THRESHOLD
        assert gc.get_freeze_count() > 0
    finally:
        restore_gc(previous)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
