"""Measurement pieces that need no broker: protocol lines, /proc reading, metric arithmetic."""

from __future__ import annotations

import os
from pathlib import Path

from benchmarks import measure, protocol
from benchmarks.workloads import parse_list


def test_protocol_lines_are_parsed_and_other_output_ignored() -> None:
    assert protocol.parse_line('{"event":"first_consumed","t":12.5}') == {
        "event": "first_consumed",
        "t": 12.5,
    }
    assert protocol.parse_line('[2026] [1] [WARNING] {"event":"ready","t":1} ') == {
        "event": "ready",
        "t": 1,
    }
    assert protocol.parse_line("INFO starting") is None
    assert protocol.parse_line('{"event": 3, "t": 1}') is None
    assert protocol.parse_line('{"event": "ready"}') is None  # no time
    assert protocol.parse_line("{not json") is None


def test_interpolation_is_linear_and_clamped() -> None:
    pts = [(0.0, 0.0), (10.0, 5.0)]
    assert measure.interpolate(pts, 4.0) == 2.0
    assert measure.interpolate(pts, -1.0) == 0.0
    assert measure.interpolate(pts, 99.0) == 5.0
    assert measure.interpolate([], 1.0) == 0.0


def test_fill_metrics_derives_rate_cpu_per_1k_and_megabytes() -> None:
    r = measure.RunResult("kstreamy", "W2", 0, 100_000)
    measure.fill_metrics(r, t_first=100.0, t_done=110.0, cpu_s=15.0, peak_rss=256 * 2**20)
    assert r.status == "ok"
    assert r.records_per_s == 10_000.0
    assert r.cpu_s_per_1k == 0.15
    assert r.peak_rss_mb == 256.0


def test_proc_sampling_sees_this_process() -> None:
    sampler = measure.TreeSampler(os.getpid())
    sum(i * i for i in range(200_000))  # burn a little CPU
    s = sampler.sample()
    assert s.cpu_s > 0 and s.rss > 0
    status = Path("/proc/self/status").read_text().splitlines()
    own_rss = int(next(line for line in status if line.startswith("VmRSS:")).split()[1]) * 1024
    # the tree may hold children (e.g. a session's Kafka broker): compare with this process alone
    assert measure.vm_hwm_bytes(os.getpid()) >= own_rss
    assert s.rss >= own_rss // 2
    assert os.getpid() in measure.process_tree(os.getpid())


def test_parse_list_checks_names() -> None:
    assert parse_list("W1, W3", ("W1", "W2", "W3"), "workload") == ["W1", "W3"]
    try:
        parse_list("W9", ("W1",), "workload")
    except ValueError as exc:
        assert "W9" in str(exc) and "W1" in str(exc)
    else:
        raise AssertionError("W9 was accepted")
