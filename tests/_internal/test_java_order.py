"""describe() prints a processor's stores in Java HashSet order (Kafka's TopologyDescription)."""

from __future__ import annotations

from kstreamy._internal.java_order import java_hash_set_order, java_string_hash


def test_java_string_hash_matches_java() -> None:
    # values of "".hashCode(), "a".hashCode(), "hello".hashCode() and a negative one in Java
    assert java_string_hash("") == 0
    assert java_string_hash("a") == 97
    assert java_string_hash("hello") == 99162322
    assert java_string_hash("polygenelubricants") == (-(2**31)) & 0xFFFFFFFF


def test_hash_set_order_is_bucket_then_insertion_order() -> None:
    """Kafka's outputs: the shared outer-join store comes after the window store, although it
    sorts first; two names in one bucket keep their insertion order."""
    assert java_hash_set_order(
        ["KSTREAM-OUTERTHIS-0000000004-store", "KSTREAM-OUTERSHARED-0000000004-store"]
    ) == ["KSTREAM-OUTERTHIS-0000000004-store", "KSTREAM-OUTERSHARED-0000000004-store"]
    same_bucket = ["KSTREAM-JOINTHIS-0000000004-store", "KSTREAM-OUTERSHARED-0000000004-store"]
    assert java_hash_set_order(same_bucket) == same_bucket
    assert java_hash_set_order(list(reversed(same_bucket))) == list(reversed(same_bucket))
    assert java_hash_set_order(["b", "a", "b"]) == ["a", "b"]  # buckets 2 and 1; no duplicates
