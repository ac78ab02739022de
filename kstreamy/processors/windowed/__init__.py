"""Windowed operators: time/sliding/session window aggregations, stream-stream joins, suppress."""
