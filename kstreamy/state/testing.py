"""A fake `StoreContext` for testing stores (and tasks' store handling) without a task or broker."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kstreamy.processor import Headers, TaskId
from kstreamy.state.api import RecordContext, RestoreCallback, StateStore
from kstreamy.state.cache import ThreadCache

_TASK_0_0 = TaskId(0, 0)


@dataclass(frozen=True)
class ChangelogRecord:
    """One record written to a changelog through `FakeStoreContext.log_change`."""

    topic: str
    partition: int
    key: bytes
    value: bytes | None
    timestamp: int
    headers: tuple[tuple[str, bytes | None], ...] = ()


class FakeStoreContext:
    """Records changelog writes and registrations; the record context is set by the test."""

    def __init__(
        self,
        application_id: str = "app",
        task_id: TaskId = _TASK_0_0,
        app_config: Mapping[str, Any] | None = None,
        state_dir: Path | None = None,
        cache: ThreadCache | None = None,
    ) -> None:
        self._application_id = application_id
        self._task_id = task_id
        self._app_config = dict(app_config or {})
        self._state_dir = state_dir
        self.cache = cache
        self.changelog: list[ChangelogRecord] = []
        self.registered: dict[str, tuple[StateStore, RestoreCallback]] = {}
        self.current: RecordContext | None = None

    @property
    def application_id(self) -> str:
        return self._application_id

    @property
    def task_id(self) -> TaskId:
        return self._task_id

    @property
    def app_config(self) -> Mapping[str, Any]:
        return self._app_config

    @property
    def state_dir(self) -> Path | None:
        return self._state_dir

    @property
    def changelog_partition(self) -> int:
        return self._task_id.partition

    def register(self, store: StateStore, restore: RestoreCallback) -> None:
        if store.name in self.registered:
            raise ValueError(f"store '{store.name}' registered twice")
        self.registered[store.name] = (store, restore)

    def changelog_topic(self, store_name: str) -> str:
        return f"{self._application_id}-{store_name}-changelog"

    def log_change(
        self,
        store_name: str,
        key: bytes,
        value: bytes | None,
        timestamp: int,
        headers: Headers = (),
    ) -> None:
        self.changelog.append(
            ChangelogRecord(
                self.changelog_topic(store_name),
                self.changelog_partition,
                key,
                value,
                timestamp,
                tuple(headers),
            )
        )

    def record_context(self) -> RecordContext | None:
        return self.current

    def set_record(
        self, timestamp: int, headers: Headers = (), offset: int = 0, topic: str = "input"
    ) -> None:
        """Pretend the task is processing a record (its context flows into caches/changelogs)."""
        self.current = RecordContext(timestamp, headers, topic, self._task_id.partition, offset)

    def thread_cache(self) -> Any:
        return self.cache

    def restore(self, store_name: str, records: list[tuple[bytes, bytes | None]]) -> None:
        """Feed changelog records to the store's registered restore callback."""
        self.registered[store_name][1](records)

    def changelog_of(self, store_name: str) -> list[tuple[bytes, bytes | None]]:
        topic = self.changelog_topic(store_name)
        return [(r.key, r.value) for r in self.changelog if r.topic == topic]
