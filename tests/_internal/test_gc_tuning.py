"""gc_tuning: a worker's collector settings are raised and frozen, then restored."""

from __future__ import annotations

import gc

from kstreamy._internal.gc_tuning import (
    GC_TUNING_CONFIG,
    GEN0_THRESHOLD,
    processing_gc,
    restore_gc,
    tune_gc_for_processing,
)
from kstreamy.config import StreamsConfig


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


def test_processing_gc_tunes_while_any_worker_runs_and_restores_after_the_last() -> None:
    """Two workers of one process overlap: the settings stay tuned until both left, then the
    thresholds from before the first are back and nothing stays frozen."""
    before = gc.get_threshold()
    first = processing_gc()
    first.__enter__()
    assert gc.get_threshold()[0] == GEN0_THRESHOLD
    with processing_gc():
        assert gc.get_threshold()[0] == GEN0_THRESHOLD
    assert gc.get_threshold()[0] == GEN0_THRESHOLD  # the first worker still runs
    first.__exit__(None, None, None)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_processing_gc_disabled_changes_nothing() -> None:
    before = gc.get_threshold()
    with processing_gc(enabled=False):
        assert gc.get_threshold() == before
        assert gc.get_freeze_count() == 0


def test_gc_tuning_is_a_streams_config_key_defaulting_to_true() -> None:
    assert StreamsConfig({"application.id": "a"}).get(GC_TUNING_CONFIG) is True
    assert (
        StreamsConfig({"application.id": "a", GC_TUNING_CONFIG: "false"}).get(GC_TUNING_CONFIG)
        is False
    )
