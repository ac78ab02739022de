"""Internals of the DSL: the graph builder and the KTable / grouped fronts."""
