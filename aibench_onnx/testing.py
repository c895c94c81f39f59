"""pytest helper for users' own test suites:

    from aibench_onnx.testing import assert_onnx_parity

    def test_my_model_exports_faithfully():
        assert_onnx_parity(MyModel().eval(), {"x": np.random.rand(2, 16).astype("float32")}, framework="torch")

`model` is a path to an ONNX file, or a torch / Keras / Flax NNX model (exported here with aibench's
exporter). On failure the message shows the numbers and the first diverging node.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from aibench_onnx.status import Status


def assert_onnx_parity(model, inputs: dict[str, np.ndarray], framework: str | None = None, ep: str = "cpu",
                       opt_levels: tuple[str, ...] = ("disabled", "all"), opset: int | None = None):
    """Raise AssertionError (with numbers and the first diverging node) unless ONNX Runtime on `ep`
    matches the reference at every level. Returns the CheckResult when it passes."""
    from aibench_onnx.parity.check import check_onnx

    with tempfile.TemporaryDirectory(prefix="aibench-assert-") as tmp:
        expected = None
        if isinstance(model, (str, Path)):
            path = str(model)
        else:
            if framework is None:
                raise ValueError("framework= is required for a framework model ('torch', 'tf' or 'jax')")
            from aibench_onnx.exporters import DEFAULT_OPSET
            from aibench_onnx.frameworks.user_model import export_user_model
            from aibench_onnx.graph.testdata import read_test_data_set

            record = export_user_model(model, framework, dict(inputs), tmp, opset or DEFAULT_OPSET)
            if record["status"] != Status.OK:
                raise AssertionError(f"export with {record['exporter']} failed: {record['reason']}")
            path = record["path"]
            names = record["output_names"]
            inputs, expected = read_test_data_set(Path(tmp) / "test_data_set_0", list(inputs), names)
        result = check_onnx(path, eps=[ep], opt_levels=list(opt_levels), inputs=dict(inputs), expected=expected)
    if not result.passed:
        raise AssertionError(failure_message(result))
    return result


def failure_message(result) -> str:
    lines = [f"ONNX parity failed for {result.path} (reference: {result.reference})"]
    for cell in result.cells:
        lines.append(f"  {cell.ep}/{cell.opt_level}: {cell.status}"
                     + (f" — {cell.reason}" if cell.reason else "")
                     + (f"; max abs err {cell.max_abs:.3e}, smallest passing atol {cell.min_passing_atol:.3e}"
                        if cell.max_abs is not None else ""))
        divergence = cell.divergence
        if divergence and divergence.get("found"):
            lines.append(f"    first diverging node: {divergence['node']} ({divergence['op_type']}) output "
                         f"{divergence['tensor']}, max abs err {divergence['max_abs']:.3e}; path: "
                         f"{' -> '.join(divergence['path'])}")
        elif divergence:
            lines.append(f"    localization: {divergence['note']}")
    return "\n".join(lines)
