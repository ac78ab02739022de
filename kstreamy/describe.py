"""Describing a Topology: Kafka Streams' TopologyDescription text, and Mermaid / Graphviz diagrams.

`kstreamy describe MODULE:FUNCTION [--format text|mermaid|dot]` imports FUNCTION (which returns a
Topology, or a StreamsBuilder) and prints it.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kstreamy.topology import SubTopology, Topology


def _sizes(topology: Topology, members: set[str]) -> dict[str, int]:
    sizes: dict[str, int] = {}

    def size(name: str) -> int:
        if name not in sizes:
            sizes[name] = 1 + sum(size(c) for c in topology.children[name] if c in members)
        return sizes[name]

    for n in members:
        size(n)
    return sizes


def _ordered(names: list[str], sizes: dict[str, int]) -> list[str]:
    return sorted(names, key=lambda n: (-sizes[n], n))


def _node_text(topology: Topology, name: str, sizes: dict[str, int], members: set[str]) -> str:
    from kstreamy.topology import SinkNode, SourceNode

    node = topology.nodes[name]
    succ = _ordered([c for c in topology.children[name] if c in members], sizes)
    # Kafka inserts predecessors in parent order while sizes still grow, which in practice keeps
    # the parent order (JOINTHIS before JOINOTHER, merge inputs as given)
    pred = [p for p in node.parents if p in members]
    succ_s = ", ".join(succ) if succ else "none"
    pred_s = ", ".join(pred) if pred else "none"
    if isinstance(node, SourceNode):
        return f"Source: {name} (topics: [{', '.join(node.topics)}])\n      --> {succ_s}"
    if isinstance(node, SinkNode):
        topic = node.topic if isinstance(node.topic, str) else "<extractor>"
        label = "topic" if isinstance(node.topic, str) else "extractor class"
        return f"Sink: {name} ({label}: {topic})\n      <-- {pred_s}"
    from kstreamy._internal.java_order import java_hash_set_order

    stores = ", ".join(java_hash_set_order(node.stores))  # Kafka prints them from a HashSet
    return f"Processor: {name} (stores: [{stores}])\n      --> {succ_s}\n      <-- {pred_s}"


def _sub_text(topology: Topology, sub: SubTopology) -> str:
    members = set(sub.nodes)
    sizes = _sizes(topology, members)
    if sub.is_global:
        head = f"Sub-topology: {sub.id} for global store (will not generate tasks)\n"
    else:
        head = f"Sub-topology: {sub.id}\n"
    body = "".join(
        f"    {_node_text(topology, n, sizes, members)}\n" for n in _ordered(sub.nodes, sizes)
    )
    return head + body + ("" if sub.is_global else "\n")


def describe_text(topology: Topology) -> str:
    """Kafka's `TopologyDescription.toString()` layout, byte for byte."""
    out = "Topologies:\n "
    for sub in topology.subtopologies():
        out += "  " + _sub_text(topology, sub)
    return out


def _node_kind(topology: Topology, name: str) -> str:
    from kstreamy.topology import SinkNode, SourceNode

    node = topology.nodes[name]
    return (
        "source"
        if isinstance(node, SourceNode)
        else "sink"
        if isinstance(node, SinkNode)
        else "processor"
    )


def _topics_of(topology: Topology, name: str) -> list[str]:
    from kstreamy.topology import SinkNode, SourceNode

    node = topology.nodes[name]
    if isinstance(node, SourceNode):
        return list(node.topics)
    if isinstance(node, SinkNode) and isinstance(node.topic, str):
        return [node.topic]
    return []


def _stores_of(topology: Topology, name: str) -> list[str]:
    from kstreamy.topology import ProcessorNode

    node = topology.nodes[name]
    return list(node.stores) if isinstance(node, ProcessorNode) else []


def _ident(prefix: str, text: str) -> str:
    return prefix + "".join(c if c.isalnum() else "_" for c in text)


def describe_mermaid(topology: Topology) -> str:
    """A Mermaid flowchart: one subgraph per sub-topology; topics and stores as their own shapes."""
    lines = ["flowchart TD"]
    topics: set[str] = set()
    stores: set[str] = set()
    for sub in topology.subtopologies():
        title = f"Sub-topology {sub.id}" + (" (global)" if sub.is_global else "")
        lines.append(f'  subgraph {_ident("sub_", str(sub.id))}["{title}"]')
        for n in sub.nodes:
            kind = _node_kind(topology, n)
            lines.append(f'    {_ident("n_", n)}["{kind}: {n}"]')
        lines.append("  end")
        for n in sub.nodes:
            for c in topology.children[n]:
                lines.append(f"  {_ident('n_', n)} --> {_ident('n_', c)}")
            kind = _node_kind(topology, n)
            for t in _topics_of(topology, n):
                topics.add(t)
                edge = (
                    f"{_ident('t_', t)} --> {_ident('n_', n)}"
                    if kind == "source"
                    else f"{_ident('n_', n)} --> {_ident('t_', t)}"
                )
                lines.append(f"  {edge}")
            for s in _stores_of(topology, n):
                stores.add(s)
                lines.append(f"  {_ident('n_', n)} -.- {_ident('s_', s)}")
    lines.extend(f"  {_ident('t_', t)}[/{t}/]" for t in sorted(topics))
    lines.extend(f"  {_ident('s_', s)}[({s})]" for s in sorted(stores))
    return "\n".join(lines) + "\n"


def describe_dot(topology: Topology) -> str:
    """A Graphviz digraph: clusters per sub-topology; topics as ellipses, stores as cylinders."""
    lines = ["digraph topology {", "  rankdir=TB;"]
    extra: list[str] = []
    for sub in topology.subtopologies():
        title = f"Sub-topology {sub.id}" + (" (global)" if sub.is_global else "")
        lines.append(f'  subgraph cluster_{sub.id} {{ label="{title}";')
        for n in sub.nodes:
            kind = _node_kind(topology, n)
            lines.append(f'    "{n}" [shape=box, label="{kind}: {n}"];')
        lines.append("  }")
        for n in sub.nodes:
            for c in topology.children[n]:
                lines.append(f'  "{n}" -> "{c}";')
            kind = _node_kind(topology, n)
            for t in _topics_of(topology, n):
                extra.append(f'  "topic:{t}" [shape=ellipse, label="{t}"];')
                if kind == "source":
                    lines.append(f'  "topic:{t}" -> "{n}";')
                else:
                    lines.append(f'  "{n}" -> "topic:{t}";')
            for s in _stores_of(topology, n):
                extra.append(f'  "store:{s}" [shape=cylinder, label="{s}"];')
                lines.append(f'  "{n}" -> "store:{s}" [style=dashed, dir=none];')
    lines.extend(dict.fromkeys(extra))
    lines.append("}")
    return "\n".join(lines) + "\n"


class DescribeError(Exception):
    """The target could not be loaded or did not return a Topology."""


def load_topology(spec: str) -> Topology:
    """Import `module:function` and call it; a StreamsBuilder result is built."""
    from kstreamy.topology import Topology

    module_name, _, func_name = spec.partition(":")
    if not module_name or not func_name:
        raise DescribeError(f"expected MODULE:FUNCTION, got {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise DescribeError(f"cannot import module {module_name!r}: {exc}") from exc
    func: Any = getattr(module, func_name, None)
    if not callable(func):
        raise DescribeError(f"module {module_name!r} has no function {func_name!r}")
    result = func()
    if hasattr(result, "build") and not isinstance(result, Topology):
        result = result.build()
    if not isinstance(result, Topology):
        raise DescribeError(f"{spec} returned {type(result).__name__}, not a Topology")
    return result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", help="MODULE:FUNCTION returning a Topology")
    parser.add_argument("--format", choices=["text", "mermaid", "dot"], default="text")


def run(args: argparse.Namespace) -> int:
    if "." not in sys.path:
        sys.path.insert(0, ".")
    try:
        topology = load_topology(args.target)
    except DescribeError as exc:
        print(f"kstreamy describe: {exc}", file=sys.stderr)
        return 2
    render = {"text": describe_text, "mermaid": describe_mermaid, "dot": describe_dot}
    sys.stdout.write(render[args.format](topology))
    return 0


def register(subparsers: Any) -> None:
    """Add `kstreamy describe` to the `kstreamy` command (see kstreamy.cli)."""
    parser = subparsers.add_parser(
        "describe", help="print a topology (Kafka's text, or a Mermaid / Graphviz diagram)"
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kstreamy describe", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))
