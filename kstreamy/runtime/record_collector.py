"""The seam for record I/O: where a task writes sink, repartition, changelog, dead-letter records.

A task never talks to Kafka or to in-memory topics itself; it hands serialized records to a
`RecordCollector`. The TopologyTestDriver implements it with in-memory lists (looping repartition
topics back into the tasks); the Kafka runtime implements it with a confluent-kafka producer.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from kstreamy.processor import Headers


class RecordCollector(ABC):
    """Receives every record a task produces, already serialized."""

    @abstractmethod
    def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        timestamp: int,
        headers: Headers = (),
        partition: int | None = None,
    ) -> None:
        """Queue one record for `topic`; `partition` None lets the producer choose (by key hash)."""

    def flush(self) -> None:
        """Block until every queued record is acknowledged (commit step 2)."""
        return None

    def partitions_for(self, topic: str) -> int | None:
        """The partition count of `topic` if known (used by custom stream partitioners)."""
        return None


class ListRecordCollector(RecordCollector):
    """Keeps records in a list; useful in tests of a single task."""

    def __init__(self) -> None:
        self.records: list[tuple[str, bytes | None, bytes | None, int, Headers, int | None]] = []

    def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        timestamp: int,
        headers: Headers = (),
        partition: int | None = None,
    ) -> None:
        self.records.append((topic, key, value, timestamp, headers, partition))
