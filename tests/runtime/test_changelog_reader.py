"""The changelog reader against a fake consumer: bounded chunks, restore end by position,
standbys that never end, promotion restoring only the tail, removal mid-restore."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from kstreamy.processor import TaskId
from kstreamy.runtime.changelog_reader import ChangelogReader
from kstreamy.runtime.restoration import RestoreProgress
from kstreamy.state.errors import CheckpointPastEndError


class _Msg:
    def __init__(self, topic: str, partition: int, offset: int, key: bytes | None) -> None:
        self._t, self._p, self._o, self._k = topic, partition, offset, key

    def error(self) -> None:
        return None

    def topic(self) -> str:
        return self._t

    def partition(self) -> int:
        return self._p

    def offset(self) -> int:
        return self._o

    def key(self) -> bytes | None:
        return self._k

    def value(self) -> bytes:
        return b"v%d" % self._o


class _FakeConsumer:
    """Partitions are lists of keys; consume() serves assigned partitions round-robin."""

    def __init__(self, logs: dict[tuple[str, int], list[bytes | None]]) -> None:
        self.logs = logs
        self.assigned: dict[tuple[str, int], int] = {}

    def get_watermark_offsets(self, tp: Any, timeout: float = 0, cached: bool = False) -> Any:
        return 0, len(self.logs[(tp.topic, tp.partition)])

    def incremental_assign(self, tps: list[Any]) -> None:
        for tp in tps:
            key = (tp.topic, tp.partition)
            assert key not in self.assigned
            self.assigned[key] = tp.offset

    def incremental_unassign(self, tps: list[Any]) -> None:
        for tp in tps:
            del self.assigned[(tp.topic, tp.partition)]

    def consume(self, n: int, timeout: float) -> list[_Msg]:
        out: list[_Msg] = []
        while len(out) < n:
            moved = False
            for key, pos in list(self.assigned.items()):
                if pos < len(self.logs[key]) and len(out) < n:
                    out.append(_Msg(key[0], key[1], pos, self.logs[key][pos]))
                    self.assigned[key] = pos + 1
                    moved = True
            if not moved:
                break
        return out

    def position(self, tps: list[Any]) -> list[Any]:
        return [
            SimpleNamespace(topic=tp.topic, partition=tp.partition,
                            offset=self.assigned.get((tp.topic, tp.partition), -1001))
            for tp in tps
        ]  # fmt: skip


def _reader(logs: dict[tuple[str, int], list[bytes | None]]) -> tuple[ChangelogReader, Any]:
    consumer = _FakeConsumer(logs)
    progress: dict[tuple[str, int], RestoreProgress] = {}
    return ChangelogReader(consumer, progress, name="test"), consumer


def test_restoring_applies_bounded_chunks_and_ends_at_the_end_offset() -> None:
    keys: list[bytes | None] = [b"k%d" % i for i in range(25)]
    keys[3] = None  # a record without a key is skipped, but its offset counts
    reader, consumer = _reader({("c", 0): keys})
    applied: list[int] = []
    reader.register(TaskId(0, 0), "s", "c", 0, None, lambda b: applied.append(len(b)), False)
    assert reader.restoring(TaskId(0, 0))
    polls = 0
    while reader.has_restoring:
        assert reader.poll(max_records=10) <= 10
        polls += 1
    assert polls == 3 and sum(applied) == 24
    assert reader.positions(TaskId(0, 0)) == {("c", 0): 25}
    progress = reader.progress[("c", 0)]
    assert progress.done and progress.restored == 24 and progress.end_offset == 25
    assert consumer.assigned == {}, "a restored partition is no longer read"


def test_standby_keeps_reading_and_a_promotion_restores_only_the_tail() -> None:
    log: list[bytes | None] = [b"a", b"b", b"c"]
    reader, consumer = _reader({("c", 1): log})
    seen: list[bytes] = []
    reader.register(TaskId(0, 1), "s", "c", 1, 1, lambda b: seen.extend(k for k, _ in b), True)
    reader.poll()
    assert seen == [b"b", b"c"] and not reader.has_restoring
    assert reader.standby_lag() == {("c", 1): 0}
    log.extend([b"d", b"e"])
    reader.poll(max_records=1)
    assert seen[-1] == b"d" and ("c", 1) in consumer.assigned, "a standby never ends"
    reader.promote(TaskId(0, 1))
    assert reader.restoring(TaskId(0, 1))
    reader.poll()
    assert not reader.restoring(TaskId(0, 1))
    progress = reader.progress[("c", 1)]
    assert (progress.start_offset, progress.end_offset, progress.restored) == (4, 5, 1)


def test_removal_mid_restore_returns_the_position_and_a_bad_checkpoint_raises() -> None:
    reader, consumer = _reader({("c", 0): [b"k"] * 50, ("c", 1): [b"k"] * 50})
    reader.register(TaskId(0, 0), "s", "c", 0, None, lambda b: None, False)
    reader.register(TaskId(0, 1), "s", "c", 1, None, lambda b: None, False)
    reader.poll(max_records=20)
    assert reader.remove(TaskId(0, 1)) == {("c", 1): 10}
    assert ("c", 1) not in consumer.assigned and reader.restoring(TaskId(0, 0))
    with pytest.raises(CheckpointPastEndError):
        reader.register(TaskId(0, 1), "s", "c", 1, 51, lambda b: None, False)


class _Recorder:
    """A restore listener with `on_restore_suspended`: every call in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def on_restore_start(
        self, topic: str, partition: int, store: str, start: int, end: int
    ) -> None:
        self.calls.append(("start", partition, store, start, end))

    def on_batch_restored(
        self, topic: str, partition: int, store: str, restored: int, total: int
    ) -> None:
        self.calls.append(("batch", partition, restored))

    def on_restore_end(self, topic: str, partition: int, store: str, restored: int) -> None:
        self.calls.append(("end", partition, store, restored))

    def on_restore_suspended(
        self, topic: str, partition: int, store: str, total_restored: int
    ) -> None:
        self.calls.append(("suspended", partition, store, total_restored))


def test_removal_mid_restore_reports_suspended_with_the_partial_count_not_end() -> None:
    logs: dict[tuple[str, int], list[bytes | None]] = {("c", 0): [b"k"] * 30, ("c", 1): [b"k"] * 30}
    reader, _ = _reader(logs)
    listener = _Recorder()
    reader.listener = listener
    reader.register(TaskId(0, 0), "s", "c", 0, None, lambda b: None, False)
    reader.register(TaskId(0, 1), "s", "c", 1, 5, lambda b: None, False)
    reader.poll(max_records=20)  # 10 records of each partition
    reader.remove(TaskId(0, 1))
    assert listener.calls[-1] == ("suspended", 1, "s", 10)
    while reader.has_restoring:
        reader.poll(max_records=20)
    reader.remove(TaskId(0, 0))  # restored to the end before removal: no suspension
    ends = [c for c in listener.calls if c[0] in ("end", "suspended")]
    assert ends == [("suspended", 1, "s", 10), ("end", 0, "s", 30)]
    assert [c for c in listener.calls if c[0] == "start"] == [
        ("start", 0, "s", 0, 30),
        ("start", 1, "s", 5, 30),
    ]


def test_suspension_on_close_and_never_for_standbys_or_listeners_without_the_method() -> None:
    logs: dict[tuple[str, int], list[bytes | None]] = {("c", 0): [b"k"] * 30, ("c", 1): [b"k"] * 30}
    reader, consumer = _reader(logs)
    listener = _Recorder()
    reader.listener = listener
    reader.register(TaskId(0, 0), "s", "c", 0, None, lambda b: None, False)
    reader.register(TaskId(0, 1), "s", "c", 1, None, lambda b: None, True)  # a standby
    reader.poll(max_records=10)
    reader.close()  # shutting down mid-restore
    assert [c for c in listener.calls if c[0] in ("end", "suspended")] == [("suspended", 0, "s", 5)]
    assert consumer.assigned == {}

    class _Plain:  # Kafka's default onRestoreSuspended does nothing: this listener has none
        ended: list[int] = []

        def on_restore_start(self, *args: Any) -> None: ...

        def on_batch_restored(self, *args: Any) -> None: ...

        def on_restore_end(self, topic: str, partition: int, store: str, restored: int) -> None:
            self.ended.append(partition)

    reader, _ = _reader(logs)
    reader.listener = _Plain()
    reader.register(TaskId(0, 0), "s", "c", 0, None, lambda b: None, False)
    reader.poll(max_records=10)
    assert reader.remove(TaskId(0, 0)) == {("c", 0): 10}
    assert _Plain.ended == []
