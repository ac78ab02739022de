"""Windows: single window instances (`TimeWindow`, `SessionWindow`), windowed keys (`Windowed`) and
the window specifications users pass to `windowed_by` and stream-stream joins.

The semantics are Kafka Streams' own:

- `TimeWindows` (tumbling, or hopping with `advance_by`) are aligned to the epoch: the N-th window
  covers `[N * advance, N * advance + size)` — start inclusive, end exclusive.
- `SlidingWindows` hold every pair of records at most `time_difference_ms` apart; windows are
  inclusive at both ends (`[t - difference, t]`), created on demand by the sliding-window
  aggregate processor, so there is no `windows_for` here.
- `SessionWindows` grow around records closer than the inactivity gap; a session window spans the
  first to the last record's timestamp, both inclusive.
- `JoinWindows` match a left record at `t` with right records in `[t - before, t + after]`.

Window specifications are immutable: every builder method returns a new object. Argument errors
raise `ValueError` with Kafka's wording (Kafka raises `IllegalArgumentException`).
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

K = TypeVar("K")

#: Java's Long.MAX_VALUE: window ends that overflow are capped here, as Kafka does.
MAX_TIMESTAMP = (1 << 63) - 1

__all__ = [
    "MAX_TIMESTAMP",
    "JoinWindows",
    "SessionWindow",
    "SessionWindows",
    "SlidingWindows",
    "TimeWindow",
    "TimeWindows",
    "Window",
    "Windowed",
]


# --------------------------------------------------------------------------- window instances
#
# Windows and windowed keys are built per record by windowed aggregations and serdes, so they are
# hand-written immutable slotted classes (about 3x cheaper to build than frozen dataclasses).

_set = object.__setattr__


class Window:
    """One window instance: `start` and `end` in ms; the type says whether `end` is inclusive.

    Immutable, hashable and ordered by (start, end). Windows of different types never compare
    equal, like Kafka's `Window.equals`.
    """

    __slots__ = ("end", "start")
    start: int
    end: int

    def __init__(self, start: int, end: int) -> None:
        if start < 0:
            raise ValueError(f"Window startMs time cannot be negative (got start={start}).")
        if end < start:
            raise ValueError(
                "Window endMs time cannot be smaller than window startMs time "
                f"(got start={start}, end={end})."
            )
        _set(self, "start", start)
        _set(self, "end", end)

    def overlap(self, other: Window) -> bool:
        """True when `other` (a window of the same type) shares a timestamp with this one."""
        raise NotImplementedError

    def _check_same_type(self, other: Window) -> None:
        if type(other) is not type(self):
            raise ValueError(
                f"Cannot compare windows of different type: {type(self).__name__} "
                f"and {type(other).__name__}."
            )

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.start, self.end))

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Window)
        return self.start == other.start and self.end == other.end

    def __hash__(self) -> int:
        return hash((self.start, self.end))

    def _key(self, other: object) -> tuple[tuple[int, int], tuple[int, int]] | None:
        if type(other) is not type(self):
            return None
        assert isinstance(other, Window)
        return (self.start, self.end), (other.start, other.end)

    def __lt__(self, other: object) -> bool:
        pair = self._key(other)
        return NotImplemented if pair is None else pair[0] < pair[1]

    def __le__(self, other: object) -> bool:
        pair = self._key(other)
        return NotImplemented if pair is None else pair[0] <= pair[1]

    def __gt__(self, other: object) -> bool:
        pair = self._key(other)
        return NotImplemented if pair is None else pair[0] > pair[1]

    def __ge__(self, other: object) -> bool:
        pair = self._key(other)
        return NotImplemented if pair is None else pair[0] >= pair[1]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(start={self.start}, end={self.end})"


class TimeWindow(Window):
    """A fixed-size window `[start, end)`: start inclusive, end exclusive (tumbling and hopping)."""

    __slots__ = ()

    def __init__(self, start: int, end: int) -> None:
        if end == start:
            raise ValueError(
                f"Window endMs must be greater than window startMs (got start=end={start})."
            )
        Window.__init__(self, start, end)

    def overlap(self, other: Window) -> bool:
        self._check_same_type(other)
        return self.start < other.end and other.start < self.end


class SessionWindow(Window):
    """A session `[start, end]`: first and last record timestamps, both inclusive (may be equal)."""

    __slots__ = ()

    def overlap(self, other: Window) -> bool:
        self._check_same_type(other)
        return not (other.end < self.start or self.end < other.start)


class Windowed(Generic[K]):
    """A windowed key: the record key plus the window it was aggregated in.

    Immutable, hashable and ordered (by key, then window), so it can key dicts and be sorted.
    `str()` prints Kafka's form `[key@start/end]`.
    """

    __slots__ = ("key", "window")
    key: K
    window: Window

    def __init__(self, key: K, window: Window) -> None:
        _set(self, "key", key)
        _set(self, "window", window)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Windowed is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Windowed is immutable")

    def __reduce__(self) -> tuple[Any, ...]:
        return (Windowed, (self.key, self.window))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Windowed):
            return NotImplemented
        return bool(self.key == other.key and self.window == other.window)

    def __hash__(self) -> int:
        return hash((self.key, self.window))

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Windowed):
            return NotImplemented
        return bool((self.key, self.window) < (other.key, other.window))

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Windowed):
            return NotImplemented
        return bool((self.key, self.window) <= (other.key, other.window))

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Windowed):
            return NotImplemented
        return bool((self.key, self.window) > (other.key, other.window))

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Windowed):
            return NotImplemented
        return bool((self.key, self.window) >= (other.key, other.window))

    def __repr__(self) -> str:
        return f"Windowed(key={self.key!r}, window={self.window!r})"

    def __str__(self) -> str:
        return f"[{self.key}@{self.window.start}/{self.window.end}]"


# --------------------------------------------------------------------------- specifications


def _check_non_negative(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int number of milliseconds, got {value!r}")
    if value < 0:
        raise ValueError(f"{what} must not be negative (got {value} ms).")
    return value


def _check_grace(grace_ms: int) -> int:
    return _check_non_negative(grace_ms, "Grace period (grace_ms)")


class TimeWindows:
    """Fixed-size, epoch-aligned windows: tumbling (`of(size)`) or hopping (`.advance_by(hop)`).

    A record at `t` belongs to every window with `start <= t < start + size`; Kafka's
    `TimeWindows.windowsFor` rule. Late records are accepted until stream time passes
    `window end + grace_ms`.
    """

    __slots__ = ("advance_ms", "grace_ms", "size_ms")

    def __init__(self, size_ms: int, advance_ms: int, grace_ms: int) -> None:
        if isinstance(size_ms, bool) or not isinstance(size_ms, int):
            raise TypeError(f"Window size (size_ms) must be an int number of ms, got {size_ms!r}")
        if size_ms <= 0:
            raise ValueError(f"Window size (size_ms) must be larger than zero (got {size_ms} ms).")
        if isinstance(advance_ms, bool) or not isinstance(advance_ms, int):
            raise TypeError(f"Window advance (advance_ms) must be an int, got {advance_ms!r}")
        if advance_ms <= 0 or advance_ms > size_ms:
            raise ValueError(
                "Window advancement interval should be more than zero and less than or equal to "
                f"the window size, which is {size_ms} ms, but the given advancement interval "
                f"is: {advance_ms} ms."
            )
        self.size_ms = size_ms
        self.advance_ms = advance_ms
        self.grace_ms = _check_grace(grace_ms)

    @classmethod
    def of(cls, size_ms: int, grace_ms: int = 0) -> TimeWindows:
        """Tumbling windows of `size_ms`: `[N * size, (N + 1) * size)`."""
        return cls(size_ms, size_ms, grace_ms)

    def advance_by(self, advance_ms: int) -> TimeWindows:
        """Hopping windows: same size, a new window every `advance_ms` (`0 < advance <= size`)."""
        return TimeWindows(self.size_ms, advance_ms, self.grace_ms)

    def grace(self, grace_ms: int) -> TimeWindows:
        """The same windows, accepting records up to `grace_ms` after a window ends."""
        return TimeWindows(self.size_ms, self.advance_ms, grace_ms)

    @property
    def is_tumbling(self) -> bool:
        return self.advance_ms == self.size_ms

    @property
    def default_retention_ms(self) -> int:
        """The smallest store retention that still holds every open window: size + grace."""
        return self.size_ms + self.grace_ms

    def windows_for(self, timestamp: int) -> dict[int, TimeWindow]:
        """Every window containing `timestamp`, keyed by start, in ascending start order.

        Starts are multiples of the advance (epoch aligned); negative timestamps get no window.
        """
        size = self.size_ms
        advance = self.advance_ms
        start = (max(0, timestamp - size + advance) // advance) * advance
        windows: dict[int, TimeWindow] = {}
        while start <= timestamp:
            end = start + size
            windows[start] = TimeWindow(start, end if end <= MAX_TIMESTAMP else MAX_TIMESTAMP)
            start += advance
        return windows

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TimeWindows) and (
            (self.size_ms, self.advance_ms, self.grace_ms)
            == (other.size_ms, other.advance_ms, other.grace_ms)
        )

    def __hash__(self) -> int:
        return hash((TimeWindows, self.size_ms, self.advance_ms, self.grace_ms))

    def __repr__(self) -> str:
        return (
            f"TimeWindows(size_ms={self.size_ms}, advance_ms={self.advance_ms}, "
            f"grace_ms={self.grace_ms})"
        )


class SlidingWindows:
    """Windows of `time_difference_ms` that slide with the data (KIP-450), inclusive at both ends.

    Two records fall in a common window when their timestamps differ by at most
    `time_difference_ms`. Windows are only created where records are: for a record at `t` the
    aggregate processor maintains `[t - difference, t]` and `[t + 1, t + 1 + difference]`, so
    this class only carries the parameters.
    """

    __slots__ = ("grace_ms", "time_difference_ms")

    def __init__(self, time_difference_ms: int, grace_ms: int) -> None:
        self.time_difference_ms = _check_non_negative(
            time_difference_ms, "Window time difference (time_difference_ms)"
        )
        self.grace_ms = _check_grace(grace_ms)

    @classmethod
    def of(cls, time_difference_ms: int, grace_ms: int = 0) -> SlidingWindows:
        """Sliding windows holding records at most `time_difference_ms` apart."""
        return cls(time_difference_ms, grace_ms)

    @property
    def size_ms(self) -> int:
        """The window size: the time difference (a window spans `[t - difference, t]`)."""
        return self.time_difference_ms

    @property
    def default_retention_ms(self) -> int:
        """Kafka's default store retention for sliding windows: 2 * difference + grace."""
        return 2 * self.time_difference_ms + self.grace_ms

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SlidingWindows) and (
            (self.time_difference_ms, self.grace_ms) == (other.time_difference_ms, other.grace_ms)
        )

    def __hash__(self) -> int:
        return hash((SlidingWindows, self.time_difference_ms, self.grace_ms))

    def __repr__(self) -> str:
        return (
            f"SlidingWindows(time_difference_ms={self.time_difference_ms}, "
            f"grace_ms={self.grace_ms})"
        )


class SessionWindows:
    """Session windows: records closer than `inactivity_gap_ms` merge into one session.

    A record at `t` joins (and merges) every session whose `[start - gap, end + gap]` contains
    `t`; the resulting `SessionWindow` spans the first to the last record, both inclusive.
    """

    __slots__ = ("grace_ms", "inactivity_gap_ms")

    def __init__(self, inactivity_gap_ms: int, grace_ms: int) -> None:
        if isinstance(inactivity_gap_ms, bool) or not isinstance(inactivity_gap_ms, int):
            raise TypeError(f"Gap time must be an int number of ms, got {inactivity_gap_ms!r}")
        if inactivity_gap_ms <= 0:
            raise ValueError(f"Gap time cannot be zero or negative (got {inactivity_gap_ms} ms).")
        self.inactivity_gap_ms = inactivity_gap_ms
        self.grace_ms = _check_grace(grace_ms)

    @classmethod
    def with_inactivity_gap(cls, inactivity_gap_ms: int, grace_ms: int = 0) -> SessionWindows:
        """Sessions closed after `inactivity_gap_ms` without records for the key."""
        return cls(inactivity_gap_ms, grace_ms)

    @property
    def size_ms(self) -> int:
        """Sessions have no fixed size; Kafka reports the inactivity gap."""
        return self.inactivity_gap_ms

    @property
    def default_retention_ms(self) -> int:
        """Kafka's default session store retention: gap + grace."""
        return self.inactivity_gap_ms + self.grace_ms

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SessionWindows) and (
            (self.inactivity_gap_ms, self.grace_ms) == (other.inactivity_gap_ms, other.grace_ms)
        )

    def __hash__(self) -> int:
        return hash((SessionWindows, self.inactivity_gap_ms, self.grace_ms))

    def __repr__(self) -> str:
        return (
            f"SessionWindows(inactivity_gap_ms={self.inactivity_gap_ms}, grace_ms={self.grace_ms})"
        )


class JoinWindows:
    """The time bounds of a stream-stream join: left `t` matches right `[t - before, t + after]`.

    `of(d)` is symmetric (`before = after = d`); `.before(ms)` / `.after(ms)` change one side
    (either may be negative as long as `before_ms + after_ms >= 0`). Like Kafka's
    `ofTimeDifference*` factories, left/outer join results for unmatched records are emitted
    only once the window closed (`spurious_result_fix`), not eagerly.
    """

    __slots__ = ("after_ms", "before_ms", "grace_ms", "spurious_result_fix")

    def __init__(
        self, before_ms: int, after_ms: int, grace_ms: int, spurious_result_fix: bool = True
    ) -> None:
        for value, what in ((before_ms, "before_ms"), (after_ms, "after_ms")):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"JoinWindows {what} must be an int number of ms, got {value!r}")
        if before_ms + after_ms < 0:
            raise ValueError(
                "Window interval (ie, before_ms + after_ms) must not be negative "
                f"(got before_ms={before_ms}, after_ms={after_ms})."
            )
        self.before_ms = before_ms
        self.after_ms = after_ms
        self.grace_ms = _check_grace(grace_ms)
        self.spurious_result_fix = spurious_result_fix

    @classmethod
    def of(cls, time_difference_ms: int, grace_ms: int = 0) -> JoinWindows:
        """Join records at most `time_difference_ms` apart, in either direction."""
        _check_non_negative(time_difference_ms, "Join time difference (time_difference_ms)")
        return cls(time_difference_ms, time_difference_ms, grace_ms)

    def before(self, time_difference_ms: int) -> JoinWindows:
        """Same windows, but right records may be at most `time_difference_ms` earlier."""
        return JoinWindows(
            time_difference_ms, self.after_ms, self.grace_ms, self.spurious_result_fix
        )

    def after(self, time_difference_ms: int) -> JoinWindows:
        """Same windows, but right records may be at most `time_difference_ms` later."""
        return JoinWindows(
            self.before_ms, time_difference_ms, self.grace_ms, self.spurious_result_fix
        )

    def grace(self, grace_ms: int) -> JoinWindows:
        return JoinWindows(self.before_ms, self.after_ms, grace_ms, self.spurious_result_fix)

    @property
    def size_ms(self) -> int:
        """The window size: before + after (Kafka's `JoinWindows.size()`)."""
        return self.before_ms + self.after_ms

    @property
    def default_retention_ms(self) -> int:
        """Join store retention: before + after + grace, as Kafka sizes its join window stores."""
        return self.before_ms + self.after_ms + self.grace_ms

    def window_for(self, timestamp: int) -> tuple[int, int]:
        """The inclusive `(from, to)` range of other-side timestamps a record at `timestamp` joins.

        Callers joining from the right side swap the bounds: `(t - after, t + before)`.
        """
        return timestamp - self.before_ms, timestamp + self.after_ms

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JoinWindows) and _join_fields(self) == _join_fields(other)

    def __hash__(self) -> int:
        return hash((JoinWindows, *_join_fields(self)))

    def __repr__(self) -> str:
        return (
            f"JoinWindows(before_ms={self.before_ms}, after_ms={self.after_ms}, "
            f"grace_ms={self.grace_ms})"
        )


def _join_fields(w: JoinWindows) -> tuple[Any, ...]:
    return (w.before_ms, w.after_ms, w.grace_ms, w.spurious_result_fix)
