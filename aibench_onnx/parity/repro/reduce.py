"""The smallest subgraph that still shows a divergence, fed with the reference side's own intermediate values.

Start at the localized node alone: its inputs are the reference's values of them, its expected output the
reference's value of its output. If the target runtime gets that node wrong by itself, that is the
reproduction. If not (an optimizer effect needs its neighbours: a fusion only forms over several nodes), grow
a window of the node's nearest ancestors, doubling, until the difference shows; then remove what it does not
need by delta debugging (Zeller's ddmin, as Polygraphy's `debug reduce` does after its bisection), always
keeping the diverging node. A graph a runtime refuses to load reduces the same way, to the smallest set of
nodes the runtime still refuses (`reduce_refusal`).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TypeVar

import numpy as np

from aibench_onnx.parity.engine import compare_output
from aibench_onnx.parity.localize import Runner, node_labels
from aibench_onnx.parity.repro.subgraph import ancestors, boundary_inputs, extract, known_values, needed_nodes
from aibench_onnx.zoo.tolerance import Tolerance

Feed = dict[str, np.ndarray]  # input (or captured tensor) name -> its value
MAX_NODES = 64  # the window stops growing here: a larger "reproduction" is no longer one a maintainer reads
Item = TypeVar("Item")


@dataclass
class Reduction:
    """What reduction found: the kept nodes (indices and names in the full graph), the subgraph's feed and the
    reference's values of its output, how far the target's value is off, and what it cost."""

    reproduces: bool
    nodes: list[int]
    node_names: list[str]
    full_nodes: int
    tensor: str
    inputs: dict[str, np.ndarray] = field(default_factory=dict)
    expected: dict[str, np.ndarray] = field(default_factory=dict)
    max_abs: float | None = None
    reason: str = ""  # the comparison's reason (what differs), or the runtime's refusal
    tries: int = 0
    seconds: float = 0.0
    note: str = ""
    model: object = None  # the subgraph (onnx.ModelProto) of the target model


def ddmin(items: list[Item], fails: Callable[[list[Item]], bool]) -> list[Item]:
    """A 1-minimal subset of `items` on which `fails` still holds (Zeller and Hildebrandt's ddmin): removing
    any single item makes it pass. `fails(items)` must hold on entry."""
    if fails([]):
        return []
    granularity = 2
    while len(items) >= 2:
        size = -(-len(items) // granularity)
        chunks = [items[i:i + size] for i in range(0, len(items), size)]
        smaller = next((chunk for chunk in chunks if fails(chunk)), None)
        if smaller is not None:
            items, granularity = smaller, 2
            continue
        complements = ([x for x in items if x not in chunk] for chunk in chunks)
        complement = next((c for c in complements if len(chunks) > 2 and fails(c)), None)
        if complement is not None:
            items, granularity = complement, max(granularity - 1, 2)
            continue
        if granularity >= len(items):
            break
        granularity = min(len(items), granularity * 2)
    if len(items) == 1 and fails([]):
        return []
    return items


def _with_sources(model, nodes: list[int]) -> list[int]:
    """`nodes` and the input-less nodes (Constant) whose values they read: a constant is part of the graph, not
    something to feed."""
    made = {out: i for i, node in enumerate(model.graph.node) if not [x for x in node.input if x]
            for out in node.output}
    read = {name for i in nodes for name in model.graph.node[i].input}
    return sorted(set(nodes) | {made[name] for name in read if name in made})


class Capture:
    """The reference side's values of named tensors for one feed, computed on demand with as few runs as
    possible (each run exposes the tensors asked for as extra outputs of the full reference graph)."""

    def __init__(self, reference_model, feed: Feed, run_reference: Runner, directory: Path):
        self.model, self.feed, self.run, self.directory = reference_model, feed, run_reference, directory
        self.known = known_values(reference_model)
        self.values: dict[str, np.ndarray] = {name: np.asarray(value) for name, value in feed.items()}
        self.runs = 0

    def get(self, names: list[str]) -> dict[str, np.ndarray]:
        import onnx

        missing = [n for n in dict.fromkeys(names) if n not in self.values]
        if missing:
            outputs = {o.name for o in self.model.graph.output}
            exposed = onnx.ModelProto()
            exposed.CopyFrom(self.model)
            for name in missing:
                if name in outputs:
                    continue
                if name not in self.known or not self.known[name].type.tensor_type.elem_type:
                    raise ValueError(f"tensor {name!r} has no known type on the reference side: it cannot be captured")
                exposed.graph.output.append(onnx.helper.make_tensor_value_info(
                    name, self.known[name].type.tensor_type.elem_type, None))
            self.runs += 1
            path = self.directory / f"capture{self.runs}.onnx"
            onnx.save(exposed, str(path))
            found = self.run(str(path), self.feed, missing)
            self.values.update({name: np.asarray(found[name]) for name in missing})
        return {name: self.values[name] for name in names}


def reduce_divergence(reference_model, target_model, feed: Feed, run_reference: Runner, run_target: Runner,
                      node_index: int, tensor: str, tolerance: Tolerance, max_nodes: int = MAX_NODES) -> Reduction:
    """The smallest subgraph of `target_model` around node `node_index` whose output `tensor`, computed by
    `run_target` from the reference's values of the subgraph's inputs, still differs from the reference's
    value beyond `tolerance`."""
    started = time.perf_counter()
    names = node_labels(target_model)
    found = Reduction(False, [], [], len(names), tensor)
    with tempfile.TemporaryDirectory(prefix="aibench-reduce-") as tmp:
        capture = Capture(reference_model, feed, run_reference, Path(tmp))
        known = known_values(target_model)

        def reproduces(nodes: list[int]) -> bool:
            kept = needed_nodes(target_model, _with_sources(target_model, nodes), [tensor])
            found.tries += 1
            try:
                inputs = capture.get(boundary_inputs(target_model, kept))
                expected = capture.get([tensor])
                sub = extract(target_model, kept, [tensor], {**inputs, **expected}, known)
                path = Path(tmp) / f"try{found.tries}.onnx"
                _save(sub, path)
                actual = np.asarray(run_target(str(path), inputs, [tensor])[tensor])
            except Exception as error:  # noqa: BLE001 - a subgraph that cannot run shows nothing
                found.note = f"a candidate subgraph could not run: {str(error).splitlines()[0][:200]}"
                return False
            row = compare_output(tensor, expected[tensor], actual, tolerance)
            if not row.passed:
                found.inputs, found.expected, found.model = inputs, expected, sub
                found.max_abs, found.reason, found.nodes = row.max_abs, row.reason, kept
            return not row.passed

        upstream = ancestors(target_model, node_index)
        window, size = None, 1
        while True:
            candidate = [*upstream[len(upstream) - (size - 1):], node_index] if size > 1 else [node_index]
            if reproduces(candidate):
                window = candidate
                break
            if size - 1 >= len(upstream) or size >= max_nodes:
                break
            size = min(size * 2, len(upstream) + 1, max_nodes)
        if window is None:
            found.note = (f"no subgraph of up to {min(max_nodes, len(upstream) + 1)} nodes ending at "
                          f"{names[node_index]} reproduces the difference from the reference's own intermediate "
                          "values" + (f" ({found.note})" if found.note else ""))
        else:
            others = ddmin([i for i in window if i != node_index],
                           lambda subset: reproduces([*subset, node_index]))
            reproduces([*others, node_index])  # leaves `found` describing the minimal set
            found.reproduces, found.note = True, ""
            found.node_names = [names[i] for i in found.nodes]
    found.seconds = time.perf_counter() - started
    return found


def reduce_refusal(model, refuses: Callable[[str], str | None], max_tries: int = 400) -> Reduction:
    """The smallest set of nodes whose subgraph (with the full graph's value_info kept for the tensors inside)
    the runtime still refuses to load. `refuses(path)` returns the refusal's message, or None when it loads;
    a reduction keeps the same kind of refusal (`_refusal_kind`: the status code and the reason's first words)."""
    started = time.perf_counter()
    names = node_labels(model)
    found = Reduction(False, [], [], len(names), "")
    known = known_values(model)
    with tempfile.TemporaryDirectory(prefix="aibench-reduce-") as tmp:
        first = refuses(_save(model, Path(tmp) / "full.onnx"))
        if first is None:
            found.note = "the full graph loads: nothing to reduce"
            return found
        kind = _refusal_kind(first)

        def still_refused(nodes: list[int]) -> bool:
            if found.tries >= max_tries or not nodes:
                return False
            found.tries += 1
            outputs = [name for i in nodes for name in model.graph.node[i].output if name]
            consumed = {name for i in nodes for name in model.graph.node[i].input}
            outputs = [name for name in outputs if name not in consumed] or outputs[-1:]
            try:
                sub = extract(model, nodes, outputs, None, known, keep_value_info=True)
            except ValueError:
                return False
            message = refuses(_save(sub, Path(tmp) / f"try{found.tries}.onnx"))
            if message is not None and _refusal_kind(message) == kind:
                found.model, found.reason, found.nodes = sub, message, needed_nodes(model, nodes, outputs)
                return True
            return False

        everything = list(range(len(names)))
        if not still_refused(everything):
            found.note = ("the refusal needs the graph's own inputs or outputs as declared: the whole graph is the "
                          "reproduction")
            found.model, found.reason, found.nodes = model, first, everything
        else:
            ddmin(everything, still_refused)
        found.reproduces = True
        found.node_names = [names[i] for i in found.nodes]
    found.seconds = time.perf_counter() - started
    return found


def _refusal_kind(message: str) -> str:
    """ONNX Runtime's status code and the first words of its reason ("FAIL:Type Error"), without the file's path
    and the node's name, which change as the graph is reduced."""
    import re

    code = re.search(r"\[ONNXRuntimeError\] : \d+ : (\w+)", message)
    return f"{code[1] if code else ''}:{refusal_words(message)}"


def refusal_words(message: str) -> str:
    """The first words of a runtime's refusal after the file it loaded ("Type Error"): what stays the same while
    the graph is reduced (not the temporary path, nor node names, nor line numbers)."""
    reason = message.rsplit("failed:", 1)[-1] if "failed:" in message else message
    return reason.strip().split(":")[0].strip() or reason.strip()[:60]


def _save(model, path: Path) -> str:
    import onnx

    onnx.save(model, str(path))
    return str(path)
