"""The iteration order of a small `java.util.HashSet<String>`, for describe() texts.

Kafka's TopologyDescription prints a processor's stores from a `HashSet` copy, so their order
is Java's bucket order: `String.hashCode()`, spread as `h ^ (h >>> 16)`, masked by the table
size (16, doubled while more than 3/4 full); names in one bucket keep insertion order.
"""

from __future__ import annotations

from collections.abc import Iterable


def java_string_hash(text: str) -> int:
    """Java's `String.hashCode()` as an unsigned 32-bit int (UTF-16 code units)."""
    h = 0
    data = text.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + ((data[i] << 8) | data[i + 1])) & 0xFFFFFFFF
    return h


def java_hash_set_order(names: Iterable[str]) -> list[str]:
    """`names` (in insertion order, duplicates dropped) as a Java HashSet iterates them."""
    unique = list(dict.fromkeys(names))
    capacity = 16
    while len(unique) > capacity * 3 // 4:
        capacity *= 2

    def bucket(name: str) -> int:
        h = java_string_hash(name)
        return (h ^ (h >> 16)) & (capacity - 1)

    return sorted(unique, key=bucket)  # stable: insertion order within a bucket
