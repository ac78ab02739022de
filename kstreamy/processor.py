"""The public Processor API: records, processors, their context and punctuation.

Every DSL operator is built on these same types, so a user-written processor runs exactly like
a built-in one, in the TopologyTestDriver and on Kafka alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

K = TypeVar("K")
V = TypeVar("V")
K2 = TypeVar("K2")
V2 = TypeVar("V2")

Headers = Sequence[tuple[str, bytes | None]]


class Record(Generic[K, V]):
    """One key/value record with its timestamp (ms) and headers; immutable, copied by `with_*`."""

    __slots__ = ("headers", "key", "timestamp", "value")

    def __init__(self, key: K, value: V, timestamp: int, headers: Headers = ()) -> None:
        self.key = key
        self.value = value
        self.timestamp = timestamp
        self.headers = headers

    def with_key(self, key: K2) -> Record[K2, V]:
        return Record(key, self.value, self.timestamp, self.headers)

    def with_value(self, value: V2) -> Record[K, V2]:
        return Record(self.key, value, self.timestamp, self.headers)

    def with_timestamp(self, timestamp: int) -> Record[K, V]:
        return Record(self.key, self.value, timestamp, self.headers)

    def with_headers(self, headers: Headers) -> Record[K, V]:
        return Record(self.key, self.value, self.timestamp, headers)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Record)
            and self.key == other.key
            and self.value == other.value
            and self.timestamp == other.timestamp
            and list(self.headers) == list(other.headers)
        )

    def __hash__(self) -> int:
        return hash((self.key, self.timestamp))

    def __repr__(self) -> str:
        return f"Record(key={self.key!r}, value={self.value!r}, timestamp={self.timestamp})"


class TaskId(NamedTuple):
    """A task: one sub-topology on one partition; printed as Kafka prints it, `0_1`."""

    subtopology: int
    partition: int

    def __str__(self) -> str:
        return f"{self.subtopology}_{self.partition}"

    @classmethod
    def parse(cls, text: str) -> TaskId:
        sub, _, part = text.partition("_")
        return cls(int(sub), int(part))


@dataclass(frozen=True, slots=True)
class RecordMetadata:
    """Where the record being processed came from (absent for punctuation-generated records)."""

    topic: str
    partition: int
    offset: int


class PunctuationType(Enum):
    """What drives a punctuator: the task's stream time or the wall clock."""

    STREAM_TIME = "STREAM_TIME"
    WALL_CLOCK_TIME = "WALL_CLOCK_TIME"


class Cancellable(Protocol):
    def cancel(self) -> None: ...


Punctuator = Callable[[int], None]


class ProcessorContext(Protocol):
    """What a processor can see and do; one context per processor node per task."""

    @property
    def application_id(self) -> str: ...

    @property
    def task_id(self) -> TaskId: ...

    @property
    def app_config(self) -> dict[str, Any]: ...

    def forward(self, record: Record[Any, Any], child_name: str | None = None) -> None:
        """Send `record` to every child node (or only to `child_name`)."""

    def get_state_store(self, name: str) -> Any:
        """The store `name`, which must be connected to this processor."""

    def schedule(
        self, interval_ms: int, punctuation_type: PunctuationType, callback: Punctuator
    ) -> Cancellable:
        """Call `callback(timestamp)` every `interval_ms` of stream or wall-clock time."""

    def commit(self) -> None:
        """Ask for a commit as soon as possible."""

    def record_metadata(self) -> RecordMetadata | None: ...

    def current_stream_time_ms(self) -> int: ...

    def current_system_time_ms(self) -> int: ...


class Processor(Generic[K, V, K2, V2]):
    """Base class for processors: override `process`; `init` keeps the context as `self.context`."""

    context: ProcessorContext

    def init(self, context: ProcessorContext) -> None:
        self.context = context

    def process(self, record: Record[K, V]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        return None


ProcessorSupplier = Callable[[], Processor[Any, Any, Any, Any]]
