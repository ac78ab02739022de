"""`Suppressed`: how `KTable.suppress(...)` holds back updates (Kafka's Suppressed/BufferConfig).

- `Suppressed.until_window_closes(max_records=None, max_bytes=None)`: only the final result of
  each window, once stream time passes the window's end + grace. Final results must be exact, so
  a bounded buffer that fills up shuts the application down (Kafka's strict buffer).
- `Suppressed.until_time_limit(time_ms, max_records=None, max_bytes=None, when_full=...)`: hold
  each key's updates for `time_ms` of stream time after its first buffered update, then emit the
  latest; when the buffer is full, `"emit_early"` emits the oldest keys, `"shut_down"` fails.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Suppressed"]

WHEN_FULL = ("emit_early", "shut_down")


def _check_bound(value: int | None, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"Suppressed {what} must be a non-negative int or None, got {value!r}")
    return value


@dataclass(frozen=True)
class Suppressed:
    """A suppression strategy; build it with `until_window_closes` or `until_time_limit`."""

    final_results: bool
    time_limit_ms: int
    max_records: int | None
    max_bytes: int | None
    when_full: str

    @classmethod
    def until_window_closes(
        cls, max_records: int | None = None, max_bytes: int | None = None
    ) -> Suppressed:
        """Emit only each window's final result, after the window closes (windowed tables)."""
        return cls(
            True, 0, _check_bound(max_records, "max_records"),
            _check_bound(max_bytes, "max_bytes"), "shut_down",
        )  # fmt: skip

    @classmethod
    def until_time_limit(
        cls,
        time_ms: int,
        max_records: int | None = None,
        max_bytes: int | None = None,
        when_full: str = "emit_early",
    ) -> Suppressed:
        """Emit each key's latest value `time_ms` (stream time) after its first held update."""
        if isinstance(time_ms, bool) or not isinstance(time_ms, int) or time_ms < 0:
            raise ValueError(f"until_time_limit(time_ms={time_ms!r}) needs an int >= 0")
        if when_full not in WHEN_FULL:
            raise ValueError(f"when_full must be one of {WHEN_FULL}, got {when_full!r}")
        return cls(
            False, time_ms, _check_bound(max_records, "max_records"),
            _check_bound(max_bytes, "max_bytes"), when_full,
        )  # fmt: skip

    @property
    def bounded(self) -> bool:
        return self.max_records is not None or self.max_bytes is not None
