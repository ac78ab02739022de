"""What Kafka's caching session store still returns after the store below expired it.

Kafka keeps written entries in the thread cache after a flush, and its caching session store's
`findSessions` merges the cache with the store below without an expiry check: a late record can
still merge with a session the store below already dropped. `CachedSessions` keeps the sessions
a caching `MeteredSessionStore` wrote, per key, while a record could still merge with them
(pruned by the store's retention, so it stays bounded).
"""

from __future__ import annotations

PRUNE_EVERY = 4096


class CachedSessions:
    """Sessions written through a caching session store: `by_key[key][(end, start)] = value`."""

    __slots__ = ("by_key", "retention_ms", "writes")

    def __init__(self, retention_ms: int) -> None:
        self.retention_ms = retention_ms
        self.by_key: dict[bytes, dict[tuple[int, int], bytes]] = {}
        self.writes = 0

    def remember(self, key: bytes, start: int, end: int, data: bytes | None, now: int) -> None:
        """Record a write (None: a removal); `now` is the store's observed stream time."""
        by_key = self.by_key
        held = by_key.get(key)
        if data is None:
            if held is not None:
                held.pop((end, start), None)
                if not held:
                    del by_key[key]
        else:
            if held is None:
                held = by_key[key] = {}
            held[(end, start)] = data
        self.writes += 1
        if self.writes % PRUNE_EVERY == 0:
            self.prune(now)

    def prune(self, now: int) -> None:
        """Forget sessions no record can merge with any more: a record merges with sessions
        ending at or after `t - gap` and is only accepted while `t >= now - grace - gap`; gap
        and grace are each at most the retention."""
        horizon = now - 2 * self.retention_ms
        by_key = self.by_key
        for key in list(by_key):
            kept = {s: v for s, v in by_key[key].items() if s[0] >= horizon}
            if kept:
                by_key[key] = kept
            else:
                del by_key[key]

    def find(
        self, key: bytes, earliest_session_end: int, latest_session_start: int
    ) -> dict[tuple[int, int], bytes]:
        """The key's cached sessions in the bounds, as `{(end, start): value}`."""
        held = self.by_key.get(key)
        if not held:
            return {}
        return {
            (end, start): data
            for (end, start), data in held.items()
            if end >= earliest_session_end and start <= latest_session_start
        }
