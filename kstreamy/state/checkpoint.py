"""Task checkpoint files: the changelog offsets a task's stores reflect (Kafka's OffsetCheckpoint).

Format (text, Kafka's): the version `0`, the number of entries, then one `topic partition offset`
line per changelog partition. Written atomically (temporary file, fsync, rename, fsync of the
directory), so a crash leaves either the old or the new checkpoint, never a torn one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from kstreamy.state.errors import (
    CheckpointBeforeStartError,
    CheckpointError,
    CheckpointPastEndError,
)

CHECKPOINT_FILE_NAME = ".checkpoint"
VERSION = 0

TopicPartition = tuple[str, int]


class OffsetCheckpoint:
    """Reads and writes one checkpoint file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def for_task_dir(cls, task_dir: Path) -> OffsetCheckpoint:
        return cls(Path(task_dir) / CHECKPOINT_FILE_NAME)

    def write(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Replace the checkpoint with `offsets`; an empty mapping deletes the file (as Kafka)."""
        if not offsets:
            self.delete()
            return
        lines = [str(VERSION), str(len(offsets))]
        for (topic, partition), offset in sorted(offsets.items()):
            if not topic or any(c.isspace() for c in topic):
                raise ValueError(f"invalid changelog topic name {topic!r} in checkpoint")
            lines.append(f"{topic} {int(partition)} {int(offset)}")
        data = ("\n".join(lines) + "\n").encode()
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        _fsync_dir(self.path.parent)

    def read(self) -> dict[TopicPartition, int]:
        """The checkpointed offsets; {} when there is no checkpoint. Corrupt → `CheckpointError`."""
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as exc:
            raise self._corrupt(f"cannot be read: {exc}") from exc
        lines = [line for line in text.split("\n") if line.strip()]
        if len(lines) < 2:
            raise self._corrupt("is truncated (no version/count header)")
        if lines[0].strip() != str(VERSION):
            raise self._corrupt(f"has unknown version {lines[0].strip()!r} (expected {VERSION})")
        try:
            count = int(lines[1])
        except ValueError:
            raise self._corrupt(f"has an invalid entry count {lines[1]!r}") from None
        entries = lines[2:]
        if count != len(entries):
            raise self._corrupt(f"announces {count} entries but holds {len(entries)}")
        offsets: dict[TopicPartition, int] = {}
        for number, line in enumerate(entries, start=3):
            parts = line.split()
            try:
                topic, partition, offset = parts[0], int(parts[1]), int(parts[2])
                if len(parts) != 3:
                    raise ValueError
            except (IndexError, ValueError):
                raise self._corrupt(f"has a malformed line {number}: {line!r}") from None
            if offset >= 0:
                offsets[(topic, partition)] = offset
        return offsets

    def delete(self) -> None:
        for path in (self.path, self.path.with_name(self.path.name + ".tmp")):
            path.unlink(missing_ok=True)

    def _corrupt(self, problem: str) -> CheckpointError:
        return CheckpointError(
            f"Checkpoint file {self.path} {problem}. Delete it (or wipe the task directory "
            f"{self.path.parent}); the task then restores its stores from the changelogs."
        )


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def restore_start(topic: str, partition: int, checkpoint: int | None, low: int, high: int) -> int:
    """The offset restoring `topic`/`partition` starts from: the checkpoint, or the changelog's
    first offset without one. A checkpoint outside `[low, high]` is not trusted (the state is not
    from this incarnation of the changelog): `CheckpointOutOfRangeError`, the caller wipes."""
    if checkpoint is None:
        return low
    if checkpoint > high:
        raise CheckpointPastEndError(topic, partition, checkpoint, low, high)
    if checkpoint < low:
        raise CheckpointBeforeStartError(topic, partition, checkpoint, low, high)
    return checkpoint
