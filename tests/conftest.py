"""Shared test configuration.

The Kafka fixtures (``kafka_bootstrap``, ``kafka_client``) come from the kstreamy pytest plugin,
``kstreamy.testing.plugin``, which pytest loads through its pytest11 entry point once kstreamy is
installed (``make test`` does that).

Suite budgets: CI (``.ci/run`` = ``make test``) must stay under 15 minutes on a two-core machine.
Each slow suite has a time budget below; the end of every run prints each suite's time against
it. Over budget is a warning line by default (timings vary with machine load); set
``KSTREAMY_ENFORCE_BUDGETS=1`` to make it fail the run.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

# Seconds per suite (a directory under tests/), summed over setup, call and teardown.
SUITE_BUDGETS_S: dict[str, float] = {
    "broker": 150.0,
    "testing": 90.0,
    "runtime": 420.0,
    "chaos": 240.0,
    "conformance": 240.0,
    "apps": 180.0,
}
SESSION_BUDGET_S = 12 * 60.0  # leaves room for venv creation and the broker inside 15 min

_TESTS_DIR = Path(__file__).resolve().parent
_spent: defaultdict[str, float] = defaultdict(float)


def _suite_of(nodeid: str, rootpath: Path) -> str:
    path = (rootpath / nodeid.split("::", 1)[0]).resolve()
    try:
        parts = path.relative_to(_TESTS_DIR).parts
    except ValueError:
        return "(outside tests/)"
    return parts[0] if len(parts) > 1 else "(top level)"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _spent[report.nodeid] += report.duration


def _over_budget(config: pytest.Config) -> tuple[dict[str, float], list[str]]:
    per_suite: defaultdict[str, float] = defaultdict(float)
    for nodeid, seconds in _spent.items():
        per_suite[_suite_of(nodeid, config.rootpath)] += seconds
    over = [
        f"{suite}: {seconds:.0f} s > budget {SUITE_BUDGETS_S[suite]:.0f} s"
        for suite, seconds in per_suite.items()
        if suite in SUITE_BUDGETS_S and seconds > SUITE_BUDGETS_S[suite]
    ]
    total = sum(per_suite.values())
    if total > SESSION_BUDGET_S:
        over.append(f"whole run: {total:.0f} s > budget {SESSION_BUDGET_S:.0f} s")
    return dict(per_suite), over


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    per_suite, over = _over_budget(config)
    if not per_suite:
        return
    terminalreporter.section("suite time budgets")
    for suite, seconds in sorted(per_suite.items(), key=lambda item: -item[1]):
        budget = SUITE_BUDGETS_S.get(suite)
        limit = f" / {budget:.0f} s" if budget else ""
        terminalreporter.write_line(f"{suite:<20} {seconds:7.1f} s{limit}")
    for line in over:
        terminalreporter.write_line(f"OVER BUDGET {line}", yellow=True, bold=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("KSTREAMY_ENFORCE_BUDGETS") == "1" and exitstatus == 0:
        _, over = _over_budget(session.config)
        if over:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
