"""pytest helper for users' own test suites:

    from aibench_onnx.testing import assert_onnx_parity

    def test_my_model_exports_faithfully():
        assert_onnx_parity(MyModel().eval(), {"x": np.random.rand(2, 16).astype("float32")}, framework="torch")

`model` is a path to an ONNX file, or a torch / Keras / Flax NNX model (exported here with aibench's
exporter). On failure the message shows the numbers and the first diverging node.
"""

from __future__ import annotations

import numpy as np


def assert_onnx_parity(model, inputs: dict[str, np.ndarray], framework: str | None = None, ep: str = "cpu",
                       opt_levels: tuple[str, ...] = ("disabled", "all"), opset: int | None = None,
                       call_args: dict | None = None):
    """Raise AssertionError (with numbers and the first diverging node) unless ONNX Runtime on `ep`
    matches the reference at every level. `call_args`: static keyword arguments of every call of a
    framework model (use_cache=False, deterministic=True). Returns the CheckResult when it passes."""
    from aibench_onnx.api import check

    try:
        result = check(model, dict(inputs), framework, eps=[ep], opt_levels=list(opt_levels), opset=opset,
                       call_args=call_args)
    except RuntimeError as exc:
        if str(exc).startswith("export with"):
            raise AssertionError(str(exc)) from None
        raise
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
