"""A module-level topology factory for the `kstreamy describe` CLI test."""

from kstreamy import Long, StreamsBuilder, String, Topology


def word_count() -> Topology:
    b = StreamsBuilder()
    (
        b.stream("words", key_serde=String(), value_serde=String())
        .flat_map_values(lambda line: line.split())
        .group_by(lambda _k, word: word)
        .count()
        .to_stream()
        .to("counts", key_serde=String(), value_serde=Long())
    )
    return b.build()
