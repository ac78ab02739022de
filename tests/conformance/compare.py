"""Compare the two runners' answers, shrink mismatching scenarios, and print reproducers.

Outputs must be equal step by step: after each input (or wall-clock advance) the same records, in
the same order within each output topic, with the same keys, values and timestamps. An error on
one side must be matched by an error on the other (messages differ between languages, so only
their presence is compared). Shrinking is delta debugging over the steps: each round's candidates
are all run (through the one JVM and in-process) and the first that still mismatches is kept.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from typing import Any

from tests.conformance import runner

Scenario = dict[str, Any]
Result = dict[str, Any]
JavaRun = Callable[[Scenario], Result]


def difference(java: Result, ours: Result) -> str | None:
    """None when the answers agree, else a one-line description of the first difference."""
    if (java["error"] is None) != (ours["error"] is None):
        return f"error: Java {java['error']!r}, kstreamy {ours['error']!r}"
    for i, (a, b) in enumerate(zip(java["steps"], ours["steps"], strict=False)):
        if a != b:
            return f"step {i}: Java {a}, kstreamy {b}"
    if len(java["steps"]) != len(ours["steps"]):
        return f"step count: Java {len(java['steps'])}, kstreamy {len(ours['steps'])}"
    return None


def describe_difference(java: dict[str, Any], ours: dict[str, Any]) -> str | None:
    """None when both describe() texts are equal, else a unified diff (Java -> kstreamy)."""
    if java.get("text") == ours.get("text") and "error" not in java and "error" not in ours:
        return None
    if "error" in java or "error" in ours:
        return (
            f"describe() of {java['describe']}: Java {java.get('error', 'ok')}; "
            f"kstreamy {ours.get('error', 'ok')}"
        )
    diff = difflib.unified_diff(
        java["text"].splitlines(keepends=True),
        ours["text"].splitlines(keepends=True),
        "Kafka Streams",
        "kstreamy",
        n=1,
    )
    return f"describe() of {java['describe']} differs:\n" + "".join(diff)


def _with_steps(scenario: Scenario, steps: list[dict[str, Any]]) -> Scenario:
    return {**scenario, "steps": steps}


def mismatches(java_run: JavaRun, scenario: Scenario) -> bool:
    return difference(java_run(scenario), runner.run(scenario)) is not None


def shrink(java_run: JavaRun, scenario: Scenario, budget: int = 300) -> Scenario:
    """A smaller scenario that still mismatches (ddmin over steps, at most `budget` runs)."""
    steps = list(scenario["steps"])
    n = 2
    runs = 0
    while len(steps) >= 2 and runs < budget:
        size = -(-len(steps) // n)
        chunks = [steps[i : i + size] for i in range(0, len(steps), size)]
        candidates = [c for c in chunks if len(chunks) > 2 or n == 2]
        candidates += [
            [s for j, c in enumerate(chunks) if j != i for s in c] for i in range(len(chunks))
        ]
        found = None
        for cand in candidates:
            runs += 1
            if cand and mismatches(java_run, _with_steps(scenario, cand)):
                found = cand
                break
        if found is not None:
            steps = found
            n = 2 if found in chunks else max(n - 1, 2)
            continue
        if n >= len(steps):
            break
        n = min(2 * n, len(steps))
    shrunk = _with_steps(scenario, steps)
    if scenario.get("caching") and mismatches(java_run, {**shrunk, "caching": False}):
        shrunk = {**shrunk, "caching": False}
    return shrunk


def reproducer(java_run: JavaRun, scenario: Scenario) -> str:
    """Readable text: the scenario, then each step with both sides' outputs."""
    java = java_run(scenario)
    ours = runner.run(scenario)
    lines = [
        f"topology {scenario['topology']}  caching={scenario['caching']}  "
        f"wall_clock_ms={scenario['wall_clock_ms']}",
        f"scenario: {json.dumps(scenario)}",
    ]
    for i, step in enumerate(scenario["steps"]):
        j = java["steps"][i] if i < len(java["steps"]) else "(not reached)"
        k = ours["steps"][i] if i < len(ours["steps"]) else "(not reached)"
        mark = "  " if j == k else "!!"
        lines.append(f"{mark} step {i}: {json.dumps(step)}")
        lines.append(f"     Java:     {j}")
        lines.append(f"     kstreamy: {k}")
    if java["error"] or ours["error"]:
        lines.append(f"   errors: Java {java['error']!r}; kstreamy {ours['error']!r}")
    return "\n".join(lines)
