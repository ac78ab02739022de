"""Output equality: the final value per key of each system's output topic must be the same.

Systems write values in their own formats (a Java ``Long`` count is 8 bytes, Quix writes the
JSON number), so each value is decoded (``json`` or ``long``) and canonicalised (sorted keys,
compact separators) before it is digested; only a 16-byte digest per key is kept in memory.
Output topics are read with ``isolation.level=read_committed``: aborted transactional writes
never count.
"""

from __future__ import annotations

import hashlib
import json
import struct
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

IDLE_S = 3.0
"""Stop reading a partition set after this long without new records (end already reached)."""


def decode_value(data: bytes | None, value_format: str) -> Any:
    """The Python value of one output record (``None`` for a tombstone)."""
    if data is None:
        return None
    if value_format == "long":
        if len(data) != 8:
            raise ValueError(f"a Long value has 8 bytes, got {len(data)}: {data[:32]!r}")
        return struct.unpack(">q", data)[0]
    if value_format == "json":
        return json.loads(data)
    raise ValueError(f"unknown value format {value_format!r}; expected json or long")


def digest(value: Any) -> bytes | None:
    """A short digest of a value's canonical JSON (``None`` stays ``None``)."""
    if value is None:
        return None
    canon = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(canon.encode(), digest_size=16).digest()


def final_digests(
    pairs: Iterable[tuple[bytes | None, bytes | None]], value_format: str
) -> dict[bytes | None, bytes | None]:
    """Key -> digest of the last value seen for it (records in partition order)."""
    out: dict[bytes | None, bytes | None] = {}
    for key, value in pairs:
        out[key] = digest(decode_value(value, value_format))
    return out


def read_topic(
    bootstrap: str, topic: str, timeout_s: float = 300.0
) -> Iterable[tuple[bytes | None, bytes | None]]:
    """Every committed record of ``topic`` from the beginning up to its current end."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"kstreamy-bench-verify-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
        }
    )
    try:
        meta = consumer.list_topics(topic, timeout=30).topics[topic]
        parts = sorted(meta.partitions)
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1]
            for p in parts
        }
        pending = {p for p in parts if ends[p] > 0}
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in pending])
        deadline = time.monotonic() + timeout_s
        last_data = time.monotonic()
        while pending and time.monotonic() < deadline:
            msgs = consumer.consume(10_000, timeout=0.5)
            if not msgs and time.monotonic() - last_data > IDLE_S:
                break
            for msg in msgs:
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        pending.discard(msg.partition())
                    continue
                last_data = time.monotonic()
                yield msg.key(), msg.value()
                offset = msg.offset()
                if offset is not None and offset >= ends[msg.partition()] - 1:
                    pending.discard(msg.partition())
    finally:
        consumer.close()


@dataclass
class Comparison:
    """The outcome of comparing one system's final values with the reference system's."""

    system: str
    reference: str
    equal: bool
    keys: int
    reference_keys: int
    missing: int = 0
    extra: int = 0
    different: int = 0
    examples: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "equal": self.equal,
            "keys": self.keys,
            "reference_keys": self.reference_keys,
            "missing": self.missing,
            "extra": self.extra,
            "different": self.different,
            "examples": self.examples,
        }


def compare(
    system: str,
    got: dict[bytes | None, bytes | None],
    reference: str,
    want: dict[bytes | None, bytes | None],
    max_examples: int = 5,
) -> Comparison:
    """Compare final digests per key; report counts and a few example keys."""
    missing = [k for k in want if k not in got]
    extra = [k for k in got if k not in want]
    different = [k for k in want if k in got and got[k] != want[k]]
    examples = [f"missing {k!r}" for k in missing[:max_examples]]
    examples += [f"extra {k!r}" for k in extra[:max_examples]]
    examples += [f"different {k!r}" for k in different[:max_examples]]
    return Comparison(
        system,
        reference,
        not (missing or extra or different),
        len(got),
        len(want),
        len(missing),
        len(extra),
        len(different),
        examples[:max_examples],
    )
