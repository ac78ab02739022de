"""The output-equality checker: decoding, canonical digests, final value per key, comparison."""

from __future__ import annotations

import struct

import pytest

from benchmarks import verify

Digests = dict[bytes | None, bytes | None]


def test_json_values_compare_equal_whatever_the_formatting() -> None:
    a = verify.digest(verify.decode_value(b'{"a":1,"b":[1,2]}', "json"))
    b = verify.digest(verify.decode_value(b'{ "b": [1, 2], "a": 1 }', "json"))
    assert a == b
    assert a != verify.digest(verify.decode_value(b'{"a":2,"b":[1,2]}', "json"))


def test_a_java_long_count_equals_a_json_number() -> None:
    java = verify.digest(verify.decode_value(struct.pack(">q", 42), "long"))
    quix = verify.digest(verify.decode_value(b"42", "json"))
    assert java == quix


def test_a_long_must_have_eight_bytes() -> None:
    with pytest.raises(ValueError, match="8 bytes"):
        verify.decode_value(b"42", "long")


def test_tombstones_stay_none() -> None:
    assert verify.digest(verify.decode_value(None, "json")) is None


def test_final_digests_keep_the_last_value_per_key() -> None:
    pairs = [(b"k", b"1"), (b"j", b"5"), (b"k", b"3")]
    final = verify.final_digests(pairs, "json")
    assert final == {b"k": verify.digest(3), b"j": verify.digest(5)}


def test_compare_reports_missing_extra_and_different_keys() -> None:
    want: Digests = {b"a": verify.digest(1), b"b": verify.digest(2), b"c": verify.digest(3)}
    got: Digests = {b"a": verify.digest(1), b"b": verify.digest(9), b"d": verify.digest(4)}
    c = verify.compare("quix", got, "kafka-streams", want)
    assert not c.equal
    assert (c.missing, c.extra, c.different) == (1, 1, 1)
    assert any("different b'b'" in e for e in c.examples)


def test_compare_of_equal_outputs_is_equal() -> None:
    want: Digests = {b"a": verify.digest({"x": 1})}
    c = verify.compare("kstreamy", dict(want), "kafka-streams", want)
    assert c.equal and c.keys == 1 and c.to_json()["reference"] == "kafka-streams"
