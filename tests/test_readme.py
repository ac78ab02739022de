"""The README's examples run: the DSL block (minus starting it on Kafka) and the driver block."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_dsl_and_driver_examples_run() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    dsl = next(b for b in blocks if "StreamsBuilder()" in b)
    driver = next(b for b in blocks if "TopologyTestDriver(" in b)
    offline = "\n".join(
        line for line in dsl.splitlines() if "KafkaStreams(" not in line and "app.start" not in line
    )
    namespace: dict[str, object] = {}
    exec(compile(offline + "\n" + driver, str(README), "exec"), namespace)  # asserts inside
    assert "driver" in namespace
