"""A torch export difference as a reproduction for torch.onnx's maintainers: the ONNX nodes that translate the
first exported-program node whose value differs from PyTorch's, fed with PyTorch's own values of that node's
inputs, expected to give PyTorch's value of it (captured by exporters.torch_dynamo.program_divergence)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aibench_onnx.parity.repro.bundle import Target, bundle, tracker
from aibench_onnx.parity.repro.reduce import Feed, reduce_divergence
from aibench_onnx.zoo.tolerance import Tolerance


def reproduce_export_difference(found: dict, model_name: str, tolerance: Tolerance, directory: Path) -> dict:
    """Reduce the diverging node's ONNX translation to the nodes between PyTorch values, write and verify it."""
    import onnx

    from aibench_onnx.ort.session import ort_runner

    capture = found["capture"]
    model = onnx.load(capture["model"])
    with np.load(capture["values"]) as stored:
        values = {name: stored[name] for name in stored.files}

    def pytorch(path: str, feed: Feed, names: list[str]) -> dict:  # the reference: PyTorch's values, by name
        missing = [name for name in names if name not in values]
        if missing:
            raise KeyError(f"no PyTorch value for {missing[0]}")
        return {name: values[name] for name in names}

    tensor = found["node"]
    producer = next((i for i, node in enumerate(model.graph.node) if tensor in node.output), None)
    if producer is None:
        return {"reproduced": False, "note": f"no ONNX node outputs the exported program's value {tensor}"}
    feed = {name: values[name] for name in capture["inputs"] if name in values}
    reduction = reduce_divergence(model, model, feed, pytorch, ort_runner("cpu", "disabled"), producer, tensor,
                                  tolerance)
    if not reduction.reproduces:
        return {"reproduced": False, "note": reduction.note, "full_nodes": reduction.full_nodes}
    where = f" at {found['source']}" if found.get("source") else ""
    title = f"torch.onnx: `{found['target']}` exports to ONNX that computes another value than PyTorch"
    why = (f"ONNX Runtime CPU, optimizations off, computes the exported translation of {found['target']}{where} "
           "from PyTorch's own values of its inputs, and gets another value than PyTorch: the exported graph "
           "differs from the program (ONNX Runtime agrees with itself node by node on the full graph)")
    context = [f"found by `aibench check` on the user's torch model `{model_name}` (dynamo exporter, "
               f"{reduction.full_nodes} ONNX nodes)",
               f"first exported-program node that differs: `{tensor}` ({found['target']}){where} (node "
               f"{found.get('position')} of the {found.get('compared')} compared)",
               "inputs.npz and expected.npz hold PyTorch's values of the node's inputs and output"]
    made = bundle(directory / f"{model_name}-torch-export-{tensor}", reduction, Target(level="disabled"), tolerance,
                  tracker("torch", why), title, context)
    return made.to_dict()
