"""The kstreamy side: run a scenario through `kstreamy.testing.TopologyTestDriver`.

Produces exactly the shape the Java runner answers: {"id", "topology", "steps": [[{topic, key,
value, timestamp}, ...] per step], "error"}, draining every output topic (in name order) after each
step. An exception stops the scenario and is recorded in "error", like the Java side.
"""

from __future__ import annotations

from typing import Any

from tests.conformance.topologies import CATALOGUE


def _config(scenario: dict[str, Any]) -> dict[str, Any]:
    from kstreamy.serdes import String

    config: dict[str, Any] = {
        "application.id": "conf",
        "default.key.serde": String(),
        "default.value.serde": String(),
    }
    if not scenario.get("caching", False):
        config["statestore.cache.max.bytes"] = 0
    return config


def describe(topology_id: str) -> dict[str, Any]:
    try:
        text = str(CATALOGUE[topology_id].build().describe())
    except Exception as e:
        return {"describe": topology_id, "error": f"{type(e).__name__}: {e}"}
    return {"describe": topology_id, "text": text}


def run(scenario: dict[str, Any]) -> dict[str, Any]:
    steps_out: list[list[dict[str, Any]]] = []
    result: dict[str, Any] = {
        "id": scenario["id"],
        "topology": scenario["topology"],
        "steps": steps_out,
        "error": None,
    }
    try:
        from kstreamy import TopologyTestDriver
        from kstreamy.serdes import Long, String

        topology = CATALOGUE[scenario["topology"]].build()
        with TopologyTestDriver(
            topology, config=_config(scenario), initial_wall_clock_ms=scenario["wall_clock_ms"]
        ) as driver:
            inputs = {
                t: driver.create_input_topic(t, String(), String()) for t in scenario["inputs"]
            }
            outputs = {
                t: driver.create_output_topic(t, String(), Long() if kind == "long" else String())
                for t, kind in sorted(scenario["outputs"].items())
            }
            for step in scenario["steps"]:
                produced: list[dict[str, Any]] = []
                steps_out.append(produced)
                try:
                    if "advance_ms" in step:
                        driver.advance_wall_clock_time(step["advance_ms"])
                    else:
                        inputs[step["topic"]].pipe_input(
                            step["key"], step["value"], timestamp=step["timestamp"]
                        )
                finally:
                    for name, topic in outputs.items():
                        for r in topic.read_records_to_list():
                            produced.append(
                                {
                                    "topic": name,
                                    "key": r.key,
                                    "value": r.value,
                                    "timestamp": r.timestamp,
                                }
                            )
    except Exception as e:
        result["error"] = f"{type(e).__name__}: {e}"
    return result
