"""First-divergence localization: which node's output is the first to disagree with the reference?

We bisect over the topologically ordered node outputs. Each step exposes at most `per_step` intermediate
tensors as extra graph outputs (never all of them: that runs out of memory on big models, TensorRT #3161,
#4443) and runs the reference and the target once each, narrowing the interval from k points. Steps are
about log_(k+1)(nodes). Caveat, reported when it applies: exposing a tensor keeps ORT from fusing it away,
so a divergence created only by a fusion can vanish when its inside is exposed.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from aibench_onnx.parity.engine import compare_output
from aibench_onnx.zoo.spec import DEFAULT_TOLERANCES, Tolerance

Runner = Callable[[str, dict, list[str]], dict]  # (model path, feed, output names) -> outputs


@dataclass
class Divergence:
    found: bool
    node: str = ""
    op_type: str = ""
    node_inputs: list[str] = field(default_factory=list)
    tensor: str = ""
    index: int = -1  # position among the candidate tensors (topological)
    candidates: int = 0
    max_abs: float | None = None
    reason: str = ""
    path: list[str] = field(default_factory=list)  # node names from a graph input to the diverging node
    steps: int = 0
    ort_runs: int = 0
    max_extra_outputs: int = 0
    note: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def node_label(node, index: int) -> str:
    """A node's name, or `OpType#index` for an unnamed one: how localization, reductions and precision profiles
    name nodes (a reduction finds the localized node again by this label)."""
    return node.name or f"{node.op_type}#{index}"


def node_labels(model) -> list[str]:
    return [node_label(node, index) for index, node in enumerate(model.graph.node)]


def _tensor_types(model) -> dict[str, int]:
    import onnx

    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:  # noqa: BLE001 - types of some tensors stay unknown
        inferred = model
    types = {}
    for value in list(inferred.graph.value_info) + list(inferred.graph.output) + list(inferred.graph.input):
        if value.type.tensor_type.elem_type:
            types[value.name] = value.type.tensor_type.elem_type
    return types


def candidate_tensors(model, types: dict[str, int]) -> list[tuple[int, str]]:
    """(node index, first output) of every node whose output is a float tensor, in topological order."""
    graph_outputs = {o.name for o in model.graph.output}
    found = []
    for index, node in enumerate(model.graph.node):
        for output in node.output:
            if output and types.get(output) in (1, 10, 11, 16) and output not in graph_outputs:
                found.append((index, output))
                break
    return found


def with_outputs(model, types: dict[str, int], names: list[str], directory: Path, tag: str) -> str:
    """A copy of `model` that also outputs `names` (element types from `types`); returns its path."""
    import onnx

    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    for name in names:
        copy.graph.output.append(onnx.helper.make_tensor_value_info(name, types[name], None))
    path = directory / f"{tag}.onnx"
    onnx.save(copy, str(path))
    return str(path)


def _path_from_inputs(model, node_index: int) -> list[str]:
    """Node names along one shortest producer chain from a graph input to node `node_index`."""
    producer = {}
    for index, node in enumerate(model.graph.node):
        for output in node.output:
            producer[output] = index
    chain, current = [], node_index
    seen = set()
    while current is not None and current not in seen:
        seen.add(current)
        node = model.graph.node[current]
        chain.append(node_label(node, current))
        upstream = [producer[i] for i in node.input if i in producer]
        current = max(upstream) if upstream else None  # follow the latest producer: the main path
    return list(reversed(chain))


def first_divergence(reference_model, target_model, feed: dict[str, np.ndarray], run_reference: Runner, run_target: Runner,
                     per_step: int = 4, tolerance_for: Callable[[str], Tolerance] | None = None) -> Divergence:
    """Bisect: the first candidate tensor where the target's value disagrees with the reference's. Both
    models must have the same tensor names (the same graph, or one with a planted change)."""
    tolerance_for = tolerance_for or (lambda dtype: DEFAULT_TOLERANCES.get(dtype, Tolerance(0, 0)))
    # Shape inference once per model, not once per bisection step.
    target_types, reference_types = _tensor_types(target_model), _tensor_types(reference_model)
    candidates = [c for c in candidate_tensors(target_model, target_types) if c[1] in reference_types]
    result = Divergence(found=False, candidates=len(candidates))
    low, high = -1, len(candidates)  # candidates[low] agrees (or -1 = the inputs); candidates[high] differs
    errors: dict[int, tuple[float | None, str]] = {}
    with tempfile.TemporaryDirectory(prefix="aibench-localize-") as tmp:
        while high - low > 1:
            span = high - low - 1
            count = min(per_step, span)
            probes = sorted({low + 1 + (span * (k + 1)) // (count + 1) for k in range(count)} or {low + 1})
            names = [candidates[i][1] for i in probes]
            result.steps += 1
            result.max_extra_outputs = max(result.max_extra_outputs, len(names))
            reference = run_reference(with_outputs(reference_model, reference_types, names, Path(tmp), f"ref{result.steps}"),
                                      feed, names)
            target = run_target(with_outputs(target_model, target_types, names, Path(tmp), f"tgt{result.steps}"), feed, names)
            result.ort_runs += 2
            first_bad = None
            for position, name in zip(probes, names):
                row = compare_output(name, reference[name], target[name], tolerance_for(str(reference[name].dtype)))
                errors[position] = (row.max_abs, row.reason)
                if not row.passed:
                    first_bad = position
                    break
                low = position
            if first_bad is None:
                continue  # every probe agreed: the divergence is after the last probe
            high = first_bad
        if high == len(candidates):
            return _diverging_graph_output(target_model, reference_model, feed, run_reference, run_target,
                                           tolerance_for, result, Path(tmp))
    node_index, tensor = candidates[high]
    node = target_model.graph.node[node_index]
    result.found = True
    result.node, result.op_type, result.node_inputs = node_label(node, node_index), node.op_type, list(node.input)
    result.tensor, result.index = tensor, high
    result.max_abs, result.reason = errors.get(high, (None, ""))
    result.path = _path_from_inputs(target_model, node_index)
    return result


def _diverging_graph_output(target_model, reference_model, feed, run_reference, run_target, tolerance_for,
                            result: Divergence, directory: Path) -> Divergence:
    """No intermediate diverges: name the earliest node whose *graph output* does (candidates exclude graph
    outputs, which every run returns anyway), or say plainly that none does."""
    names = [o.name for o in target_model.graph.output if o.name in {r.name for r in reference_model.graph.output}]
    reference = run_reference(_saved(reference_model, directory / "reference.onnx"), feed, names)
    target = run_target(_saved(target_model, directory / "target.onnx"), feed, names)
    result.ort_runs += 2
    producer = {output: index for index, node in enumerate(target_model.graph.node) for output in node.output}
    diverging = []
    for name in names:
        row = compare_output(name, np.asarray(reference[name]), np.asarray(target[name]),
                             tolerance_for(str(np.asarray(reference[name]).dtype)))
        if not row.passed and name in producer:
            diverging.append((producer[name], name, row))
    if not diverging:
        result.note = ("no exposed intermediate tensor diverges, nor any graph output: the difference lies inside "
                       "a fusion that exposing intermediates prevents")
        return result
    node_index, tensor, row = min(diverging, key=lambda found: found[0])
    node = target_model.graph.node[node_index]
    result.found = True
    result.node, result.op_type, result.node_inputs = node_label(node, node_index), node.op_type, list(node.input)
    result.tensor, result.index, result.max_abs, result.reason = tensor, result.candidates, row.max_abs, row.reason
    result.path = _path_from_inputs(target_model, node_index)
    result.note = f"the first diverging node produces graph output {tensor}; no intermediate tensor before it diverges"
    return result


def _saved(model, path: Path) -> str:
    import onnx

    onnx.save(model, str(path))
    return str(path)


def reference_evaluator_runner() -> Runner:
    def run(path: str, feed: dict[str, np.ndarray], names: list[str]) -> dict:
        from onnx.reference import ReferenceEvaluator

        values = ReferenceEvaluator(path).run(names, feed)
        return {name: np.asarray(value) for name, value in zip(names, values)}

    return run
