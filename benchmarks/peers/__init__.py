"""Peer implementations of the workloads (Java Kafka Streams, Quix Streams, Faust) and the
pieces the Python ones share. Each Python peer runs in its own virtualenv, so this package and
:mod:`benchmarks.peers.common` use the standard library (plus the app's pure cart logic) only."""
