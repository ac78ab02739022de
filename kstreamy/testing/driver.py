"""TopologyTestDriver: run a Topology without a broker, with the same Task code as on Kafka.

Like Kafka's driver: each piped record is processed completely (records written to repartition or
other consumed topics are piped straight back in), then stream-time punctuation runs and the task
commits (caches flush, which may forward more records). All topics have one partition.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from kstreamy.processor import Headers, TaskId
from kstreamy.runtime.record_collector import RecordCollector
from kstreamy.runtime.task import PASSTHROUGH, Task, task_config
from kstreamy.serdes import Serde
from kstreamy.state.api import StateStore
from kstreamy.state.windowed_stores import session_store_view, window_store_view
from kstreamy.topology import Topology

DEFAULT_APPLICATION_ID = "dummy-topology-test-driver-app-id"
DEFAULT_CACHE_BYTES = 10 * 1024 * 1024

__all__ = [
    "KeyValue",
    "NoSuchElementError",
    "TestInputTopic",
    "TestOutputTopic",
    "TestRecord",
    "TopologyTestDriver",
]


class KeyValue(NamedTuple):
    """A key/value pair as read from an output topic (a tuple with `.key` and `.value`)."""

    key: Any
    value: Any


class NoSuchElementError(IndexError):
    """Reading an output topic that has no (more) records."""


@dataclass(slots=True)
class TestRecord:
    """A record read from (or piped into) a test topic."""

    __test__ = False  # not a pytest test class

    key: Any
    value: Any
    timestamp: int | None = None
    headers: Headers = field(default_factory=tuple)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, TestRecord)
            and self.key == other.key
            and self.value == other.value
            and self.timestamp == other.timestamp
            and list(self.headers) == list(other.headers)
        )


_Raw = tuple[bytes | None, bytes | None, int, Headers]


class _DriverCollector(RecordCollector):
    def __init__(self, driver: TopologyTestDriver) -> None:
        self.driver = driver

    def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        timestamp: int,
        headers: Headers = (),
        partition: int | None = None,
    ) -> None:
        driver = self.driver
        if topic in driver._consumed:
            driver._queue.append((topic, key, value, timestamp, headers))
        if topic not in driver._internal:
            out = driver._outputs.get(topic)
            if out is None:
                out = driver._outputs[topic] = deque()
            out.append((key, value, timestamp, headers))

    def partitions_for(self, topic: str) -> int | None:
        return 1


class TopologyTestDriver:
    """Drives a Topology synchronously; see the module docstring and API.md."""

    __test__ = False

    def __init__(
        self,
        topology: Topology,
        config: Mapping[str, Any] | None = None,
        initial_wall_clock_ms: int | None = None,
    ) -> None:
        cfg = task_config(config)
        # as Kafka's driver: outer/left stream-stream joins emit held records at once
        cfg.setdefault("__emit.interval.ms.kstreams.outer.join.spurious.results.fix__", 0)
        self.config = cfg
        self.application_id: str = cfg.get("application.id") or DEFAULT_APPLICATION_ID
        self.topology = topology
        self.wall_clock_ms = (
            int(time.time() * 1000) if initial_wall_clock_ms is None else initial_wall_clock_ms
        )
        max_bytes = int(cfg.get("statestore.cache.max.bytes") or 0)
        cache: Any = None
        if max_bytes > 0:
            from kstreamy.state.cache import ThreadCache

            cache = ThreadCache(max_bytes)
        self.thread_cache = cache
        # only an explicitly configured state.dir makes stores persistent (default: in memory)
        state_root = (
            (config or {}).get("state.dir")
            if not hasattr(config, "originals")
            else (
                config.originals.get("state.dir")  # type: ignore[union-attr]
            )
        )
        self._outputs: dict[str, deque[_Raw]] = {}
        self._queue: deque[tuple[str, bytes | None, bytes | None, int, Headers]] = deque()
        self._offsets: dict[str, int] = {}
        self._internal = {
            topology.decorate(t, self.application_id) for t in topology.internal_topics
        }
        # changelogs are not user output: Kafka's driver restores nothing from them either
        self._internal.update(
            f"{self.application_id}-{s}-changelog" for s in topology.store_builders
        )
        self.collector = _DriverCollector(self)
        app = self.application_id

        def task_dir(task_id: TaskId) -> Path | None:
            if state_root is None:
                return None
            path = Path(state_root) / app / str(task_id)
            path.mkdir(parents=True, exist_ok=True)
            return path

        self.global_task: Task | None = None
        global_stores: dict[str, StateStore] = {}
        gsub = topology.global_subtopology()
        if gsub is not None:
            gid = TaskId(-1, 0)
            self.global_task = Task(
                gid, topology, gsub, self.collector, cfg, application_id=app,
                thread_cache=cache, state_dir=None,
                clock=self._clock, is_global=True,
            )  # fmt: skip
            self.global_task.initialize()
            global_stores = dict(self.global_task.stores)
        self.tasks: list[Task] = []
        for sub in topology.task_subtopologies():
            task_id = TaskId(sub.id, 0)
            task = Task(
                task_id, topology, sub, self.collector, cfg, application_id=app,
                global_stores=global_stores, thread_cache=cache, state_dir=task_dir(task_id),
                clock=self._clock,
            )  # fmt: skip
            self.tasks.append(task)
        self._task_by_topic: dict[str, Task] = {}
        for task in self.tasks:
            task.initialize()
            for topic in task.sources:
                self._task_by_topic[topic] = task
        if self.global_task is not None:
            for topic in self.global_task.sources:
                self._task_by_topic[topic] = self.global_task
        self._consumed = set(self._task_by_topic)
        self._closed = False

    def _clock(self) -> int:
        return self.wall_clock_ms

    # -- input -------------------------------------------------------------------------------------
    def pipe_raw(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        timestamp: int,
        headers: Headers = (),
    ) -> None:
        """Pipe one serialized record into `topic` and process it completely."""
        task = self._task_by_topic.get(topic)
        if task is None:
            raise ValueError(
                f"Unknown topic {topic}: the topology consumes {sorted(self._consumed)}"
            )
        offsets = self._offsets
        offset = offsets.get(topic, 0)
        offsets[topic] = offset + 1
        try:
            task.process(topic, 0, offset, timestamp, key, value, headers)
            if task.stream_schedules:
                task.punctuate_stream_time()
            task.commit()
            if self._queue:
                self._drain()
        except BaseException:
            self._queue.clear()  # a failed record leaves no half-processed follow-ups behind
            raise

    def _drain(self) -> None:
        """Process records written to consumed topics (repartition, through) until none is left."""
        queue, by_topic, offsets = self._queue, self._task_by_topic, self._offsets
        while queue:
            topic, key, value, ts, headers = queue.popleft()
            task = by_topic[topic]
            offset = offsets.get(topic, 0)
            offsets[topic] = offset + 1
            task.process(topic, 0, offset, ts, key, value, headers)
            if task.stream_schedules:
                task.punctuate_stream_time()
            task.commit()

    def advance_wall_clock_time(self, ms: int) -> None:
        """Move the mocked wall clock forward and fire due WALL_CLOCK_TIME punctuators."""
        if ms < 0:
            raise ValueError(f"advance_wall_clock_time({ms}): time cannot go backwards")
        self.wall_clock_ms += ms
        for task in self.tasks:
            if task.punctuate_wall_clock(self.wall_clock_ms):
                task.commit()
            self._drain()

    def create_input_topic(
        self,
        topic: str,
        key_serde: Serde | None = None,
        value_serde: Serde | None = None,
        start_timestamp: int | None = None,
        auto_advance_ms: int = 0,
    ) -> TestInputTopic:
        return TestInputTopic(
            self, topic, key_serde, value_serde,
            self.wall_clock_ms if start_timestamp is None else start_timestamp, auto_advance_ms,
        )  # fmt: skip

    def create_output_topic(
        self, topic: str, key_serde: Serde | None = None, value_serde: Serde | None = None
    ) -> TestOutputTopic:
        return TestOutputTopic(self, topic, key_serde, value_serde)

    def produced_topic_names(self) -> set[str]:
        return set(self._outputs)

    def _read(self, topic: str) -> deque[_Raw]:
        out = self._outputs.get(topic)
        if out is None:
            out = self._outputs[topic] = deque()
        return out

    # -- stores --------------------------------------------------------------------------------
    def get_all_state_stores(self) -> dict[str, StateStore]:
        stores: dict[str, StateStore] = {}
        if self.global_task is not None:
            stores.update(self.global_task.stores)
        for task in self.tasks:
            stores.update(task.stores)
        return stores

    def get_state_store(self, name: str) -> Any:
        store = self.get_all_state_stores().get(name)
        if store is None:
            raise KeyError(f"No store named {name}; stores: {sorted(self.get_all_state_stores())}")
        return store

    def get_key_value_store(self, name: str) -> Any:
        """The store `name`; a timestamped store is viewed with plain values (as Kafka's)."""
        store = self.get_state_store(name)
        if getattr(store, "timestamped", False):
            return _PlainValueView(store)
        return store

    def get_timestamped_key_value_store(self, name: str) -> Any:
        return self.get_state_store(name)

    def get_window_store(self, name: str) -> Any:
        """A window store view: `fetch(key, time_from, time_to)` -> [(window_start, value)]."""
        return window_store_view(self.get_state_store(name))

    def get_session_store(self, name: str) -> Any:
        """A session store view: `fetch(key)` -> list of (Windowed, value)."""
        return session_store_view(self.get_state_store(name))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for task in self.tasks:
            task.commit()
            task.close()
        if self.global_task is not None:
            self.global_task.close()

    def __enter__(self) -> TopologyTestDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _PlainValueView:
    """A timestamped store seen as a plain key-value store (values without timestamps)."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.name = store.name

    def get(self, key: Any) -> Any:
        vt = self._store.get(key)
        return None if vt is None else vt.value

    def all(self) -> Iterable[tuple[Any, Any]]:
        return [(k, vt.value) for k, vt in self._store.all()]

    def range(self, from_key: Any, to_key: Any) -> Iterable[tuple[Any, Any]]:
        return [(k, vt.value) for k, vt in self._store.range(from_key, to_key)]

    def approximate_num_entries(self) -> int:
        return int(self._store.approximate_num_entries())

    def put(self, key: Any, value: Any) -> None:
        from kstreamy.state.api import ValueAndTimestamp

        self._store.put(key, None if value is None else ValueAndTimestamp(value, 0))

    def delete(self, key: Any) -> Any:
        vt = self._store.delete(key)
        return None if vt is None else vt.value


class TestInputTopic:
    """Pipes records into one topic; timestamps default to the topic's clock (auto-advanced)."""

    __test__ = False

    def __init__(
        self,
        driver: TopologyTestDriver,
        topic: str,
        key_serde: Serde | None,
        value_serde: Serde | None,
        start_timestamp: int,
        auto_advance_ms: int,
    ) -> None:
        if topic not in driver._consumed:
            raise ValueError(
                f"Unknown topic {topic}: the topology consumes {sorted(driver._consumed)}"
            )
        self.driver = driver
        self.topic = topic
        self._ks = (key_serde or PASSTHROUGH).serialize
        self._vs = (value_serde or PASSTHROUGH).serialize
        self.current_time = start_timestamp
        self.auto_advance_ms = auto_advance_ms

    def advance_time(self, ms: int) -> None:
        if ms < 0:
            raise ValueError("advance_time: time cannot go backwards")
        self.current_time += ms

    def _time(self, timestamp: int | None) -> int:
        if timestamp is not None:
            return timestamp
        ts = self.current_time
        self.current_time += self.auto_advance_ms
        return ts

    def pipe_input(
        self, key: Any = None, value: Any = None, timestamp: int | None = None,
        headers: Headers = (),
    ) -> None:  # fmt: skip
        """Pipe one record; a TestRecord may be given as the only argument."""
        if isinstance(key, TestRecord) and value is None:
            rec = key
            key, value, headers = rec.key, rec.value, rec.headers
            timestamp = rec.timestamp if timestamp is None else timestamp
        topic = self.topic
        self.driver.pipe_raw(
            topic, self._ks(topic, key), self._vs(topic, value), self._time(timestamp), headers
        )

    def pipe_value_list(self, values: Iterable[Any]) -> None:
        topic, vs, pipe = self.topic, self._vs, self.driver.pipe_raw
        for value in values:
            pipe(topic, None, vs(topic, value), self._time(None))

    def pipe_key_value_list(self, pairs: Iterable[tuple[Any, Any]]) -> None:
        topic, ks, vs, pipe = self.topic, self._ks, self._vs, self.driver.pipe_raw
        advance = self.auto_advance_ms
        for key, value in pairs:
            ts = self.current_time
            self.current_time = ts + advance
            pipe(topic, ks(topic, key), vs(topic, value), ts)

    def pipe_record_list(self, records: Iterable[TestRecord]) -> None:
        for rec in records:
            self.pipe_input(rec)

    def is_empty(self) -> bool:
        return True


class TestOutputTopic:
    """Reads records produced to one topic; every read consumes what it returns."""

    __test__ = False

    def __init__(
        self,
        driver: TopologyTestDriver,
        topic: str,
        key_serde: Serde | None,
        value_serde: Serde | None,
    ) -> None:
        self.driver = driver
        self.topic = topic
        self._kd = (key_serde or PASSTHROUGH).deserialize
        self._vd = (value_serde or PASSTHROUGH).deserialize

    def _pop(self) -> _Raw:
        queue = self.driver._read(self.topic)
        if not queue:
            raise NoSuchElementError(f"Output topic {self.topic} has no more records")
        return queue.popleft()

    def read_record(self) -> TestRecord:
        k, v, ts, headers = self._pop()
        return TestRecord(self._kd(self.topic, k), self._vd(self.topic, v), ts, headers)

    def read_value(self) -> Any:
        return self._vd(self.topic, self._pop()[1])

    def read_key_value(self) -> KeyValue:
        k, v, _, _ = self._pop()
        return KeyValue(self._kd(self.topic, k), self._vd(self.topic, v))

    def read_records_to_list(self) -> list[TestRecord]:
        return [self.read_record() for _ in range(self.queue_size())]

    def read_values_to_list(self) -> list[Any]:
        return [self.read_value() for _ in range(self.queue_size())]

    def read_key_values_to_list(self) -> list[KeyValue]:
        return [self.read_key_value() for _ in range(self.queue_size())]

    def read_key_values_to_map(self) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for key, value in self.read_key_values_to_list():
            if key is None:
                raise ValueError(f"read_key_values_to_map: topic {self.topic} has a null key")
            result[key] = value
        return result

    def is_empty(self) -> bool:
        return not self.driver._read(self.topic)

    def queue_size(self) -> int:
        return len(self.driver._read(self.topic))
