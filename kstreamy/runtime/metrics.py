"""Counters a worker keeps cheaply on its loop, readable from the app (`app.metrics()`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from kstreamy.runtime.restoration import RestoreProgress


@dataclass
class WorkerMetrics:
    """Plain counters updated by the worker thread; readers get a consistent-enough snapshot."""

    started_at: float = field(default_factory=time.monotonic)
    records_processed: int = 0
    records_restored: int = 0
    commits: int = 0
    commit_latency_last_s: float = 0.0
    commit_latency_total_s: float = 0.0
    lag: dict[tuple[str, int], int] = field(default_factory=dict)
    restoration: dict[tuple[str, int], RestoreProgress] = field(default_factory=dict)

    def record_commit(self, seconds: float) -> None:
        self.commits += 1
        self.commit_latency_last_s = seconds
        self.commit_latency_total_s += seconds

    def snapshot(self) -> dict[str, object]:
        elapsed = max(time.monotonic() - self.started_at, 1e-9)
        return {
            "records_processed": self.records_processed,
            "records_per_second": self.records_processed / elapsed,
            "records_restored": self.records_restored,
            "commits": self.commits,
            "commit_latency_last_s": self.commit_latency_last_s,
            "commit_latency_avg_s": self.commit_latency_total_s / self.commits
            if self.commits
            else 0.0,
            "lag": {f"{t}-{p}": v for (t, p), v in self.lag.items()},
            "restoration": {
                f"{t}-{p}": {
                    "store": r.store,
                    "start": r.start_offset,
                    "end": r.end_offset,
                    "restored": r.restored,
                    "total": r.total,
                    "done": r.done,
                }
                for (t, p), r in self.restoration.items()
            },
        }
