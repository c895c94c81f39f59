"""The Python API's `check` (`aibench_onnx.check`): what `aibench check` computes, for an ONNX file or a
framework model as it comes. It sits above parity and timing because `bench=True` uses both."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aibench_onnx.parity.check import CheckResult, check_onnx
from aibench_onnx.parity.export_check import check_export
from aibench_onnx.parity.judging import InputSet
from aibench_onnx.status import Status


def check(model, inputs: dict[str, np.ndarray] | None = None, framework: str | None = None,
          eps: list[str] | None = None, opt_levels: list[str] | None = None, opset: int | None = None,
          call_args: dict | None = None, bench: bool = False, timing_config: dict | None = None,
          expected: dict[str, np.ndarray] | None = None, **options) -> CheckResult:
    """An ONNX file (path), or a torch / Keras / Flax model as it comes with `framework=` and named `inputs`
    (their first axes exported dynamic) and static `call_args` — exported here with aibench's exporter, its
    native outputs the reference. An ONNX file's `inputs` may come with their `expected` outputs (the reference,
    as stored test data is). `bench`: also time each provider x level (`timing_config`: TimingConfig's
    fields). `options` go to check_onnx (test_data, dims, threads, localize, ...)."""
    if bench:
        from aibench_onnx.timing.onnx_file import onnx_timer

        options["timer"] = onnx_timer(timing_config)
    if isinstance(model, (str, Path)):
        given = [InputSet("", dict(inputs), expected)] if inputs is not None else []
        return check_onnx(str(model), eps=eps, opt_levels=opt_levels, input_sets=given, **options)
    if framework is None or inputs is None:
        raise ValueError("a framework model needs framework= ('torch', 'tf' or 'jax') and its inputs by name")
    import tempfile

    from aibench_onnx.artifacts.user_export import export_user_model
    from aibench_onnx.exporters import DEFAULT_OPSET
    from aibench_onnx.frameworks.user_model import bind_model

    inputs = dict(inputs)
    bound = bind_model(model, framework, list(inputs), call_args or {})
    with tempfile.TemporaryDirectory(prefix="aibench-check-") as tmp:
        record = export_user_model(bound, framework, inputs, tmp, opset or DEFAULT_OPSET)
        if record["status"] != Status.OK:
            raise RuntimeError(f"export with {record['exporter']} failed: {record['reason']}")
        record["test_data"] = [str(Path(tmp) / "test_data_set_0")]  # the export's sizes (no other sizes made here)
        # a live object: no export difference localized (that rebuilds the model in a worker of its own)
        return check_export(record, eps, opt_levels, subject=("model", "", framework, record.get("exporter", "")),
                            user=None, opset=opset or DEFAULT_OPSET, variants_beside_graph=False, **options)
