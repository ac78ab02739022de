"""Seeded random scenarios for the conformance catalogue.

A scenario is plain JSON (both runners read it): the topology id, caching on or off, the initial
wall-clock time, the input and output topics, and steps — each step pipes one record with an
explicit timestamp or advances the wall clock. Domains are tiny so keys collide; keys and values
are None now and then (null keys, tombstones); timestamps mostly move forward but jump back
(out-of-order, late beyond the grace periods) often enough to matter for windows.
"""

from __future__ import annotations

import random
from typing import Any

from tests.conformance.topologies import CATALOGUE, Spec

Scenario = dict[str, Any]


def _timestamp(rng: random.Random, now: int, windowed: bool) -> int:
    roll = rng.random()
    if roll < 0.15:  # out of order: a little back
        return max(0, now - rng.randint(1, 6))
    if roll < 0.25:  # late: far back, beyond any grace period
        return max(0, now - rng.randint(10, 40))
    step = rng.choice((0, 1, 2, 3, 5, 8, 13) if windowed else (0, 1, 2, 5))
    return now + step


def generate_one(spec: Spec, rng: random.Random, index: int, max_steps: int = 12) -> Scenario:
    """One scenario for `spec`; `index` only names it."""
    topics = list(spec.inputs.items())
    weights = [t.weight for _, t in topics]
    steps: list[dict[str, Any]] = []
    now = rng.choice((0, 0, 100, 1000))
    high = now
    for _ in range(rng.randint(1, max_steps)):
        if rng.random() < 0.1:
            steps.append({"advance_ms": rng.choice((1, 10, 25, 1000))})
            continue
        name, topic = rng.choices(topics, weights=weights)[0]
        ts = _timestamp(rng, high, spec.windowed)
        high = max(high, ts)
        key = rng.choice(topic.keys)
        value = topic.make_value(rng, key, ts) if topic.make_value else rng.choice(topic.values)
        steps.append({"topic": name, "key": key, "value": value, "timestamp": ts})
    return {
        "id": f"{spec.id}-{index}",
        "topology": spec.id,
        "caching": rng.random() < 0.5,
        "wall_clock_ms": rng.choice((0, 5000)),
        "inputs": list(spec.inputs),
        "outputs": dict(spec.outputs),
        "steps": steps,
    }


def generate(ids: list[str], per_topology: int, seed: int, max_steps: int = 12) -> list[Scenario]:
    """`per_topology` scenarios for each id, deterministic for a given seed and id list."""
    out: list[Scenario] = []
    for tid in ids:
        rng = random.Random(f"{seed}:{tid}")
        out.extend(
            generate_one(CATALOGUE[tid], rng, i, max_steps=max_steps) for i in range(per_topology)
        )
    return out
