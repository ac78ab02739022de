"""kstreamy's benchmark harness: kstreamy against Kafka Streams (Java), Quix Streams and Faust.

Start at ``benchmarks/README.md``. The modules the peers import from their own virtualenvs
(:mod:`benchmarks.protocol`, :mod:`benchmarks.peers.common`) use only the standard library.
"""
