"""Errors of the state layer; all derive from `kstreamy.errors`, so callers catch them there."""

from __future__ import annotations

from kstreamy.errors import StoreError, TaskCorruptedError


class StateDirectoryError(StoreError):
    """A state directory is corrupt, foreign (another application/layout) or unusable."""


class CheckpointError(StoreError):
    """A checkpoint file cannot be read; wipe the task directory so the task restores."""


class LockTimeoutError(StoreError):
    """A task directory is locked by another live process (named in the message)."""


class CheckpointOutOfRangeError(TaskCorruptedError):
    """A checkpointed changelog offset is outside the changelog's offsets: the local state is not
    from this incarnation of the topic. The caller wipes the store and restores from the start.
    """

    def __init__(
        self, topic: str, partition: int, checkpoint: int, start_offset: int, end_offset: int
    ) -> None:
        self.topic = topic
        self.partition = partition
        self.checkpoint = checkpoint
        self.start_offset = start_offset
        self.end_offset = end_offset
        super().__init__(
            f"Checkpoint offset {checkpoint} for changelog '{topic}' partition {partition} is "
            f"outside the changelog's offsets [{start_offset}, {end_offset}] (the topic was "
            "recreated or truncated, or the state comes from another cluster). Wipe the task's "
            "state and restore it from the beginning."
        )


class CheckpointPastEndError(CheckpointOutOfRangeError):
    """The checkpoint lies beyond the changelog's end offset."""


class CheckpointBeforeStartError(CheckpointOutOfRangeError):
    """The checkpoint lies before the changelog's first offset (records were deleted)."""


__all__ = [
    "CheckpointBeforeStartError",
    "CheckpointError",
    "CheckpointOutOfRangeError",
    "CheckpointPastEndError",
    "LockTimeoutError",
    "StateDirectoryError",
    "StoreError",
    "TaskCorruptedError",
]
