"""The framework's own fp16 / bf16 run of a user's model on every reference input set (the error the precision
costs by itself), made in its framework's process next to the export. (int8-static's calibration sets are
artifacts: artifacts/variants.py.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aibench_onnx.status import Status
from aibench_onnx.zoo.precision import NATIVE_DTYPES, cast_floats


def native_reduced_runs(user, fw, model, reference_sets: list[dict[str, np.ndarray]], precisions: list[str],
                        out_dir: Path) -> dict:
    """precision -> {"status", "output_files"} (one .npz per reference set, outputs as float32), or why the
    framework cannot run the model in that precision here."""
    found = {}
    for precision in (p for p in precisions if p in NATIVE_DTYPES):
        files = []
        try:
            reduced = _reduced_model(user, fw, model, reference_sets[0], precision)
            for index, arrays in enumerate(reference_sets):
                outputs = fw.run_named(reduced, {n: cast_floats(a, precision) for n, a in arrays.items()})
                files.append(str(out_dir / f"native_{precision}_set{index}.npz"))
                np.savez(files[-1], **{n: np.asarray(o, np.float32) for n, o in outputs.items()})
            found[precision] = {"status": Status.OK, "output_files": files}
        except Exception as exc:  # noqa: BLE001 - a model the framework cannot run in that precision here: a result
            found[precision] = {"status": Status.UNAVAILABLE,
                                "reason": f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"}
    return found


def _reduced_model(user, fw, model, arrays: dict[str, np.ndarray], precision: str):
    """torch and JAX cast a copy of the model; Keras fixes dtypes when layers are built, so the user's factory
    builds it again under the float16 / bfloat16 policy and the fp32 model's weights are assigned to it."""
    dtype = NATIVE_DTYPES[precision]
    if user.framework != "tf":
        return fw.reduced_model(model, dtype)
    from aibench_onnx.frameworks.user_model import build_user_model

    def rebuild():
        rebuilt, _ = build_user_model(user)
        fw.run_named(rebuilt, {n: cast_floats(a, precision) for n, a in arrays.items()})  # creates its variables
        fw.assign_weights(rebuilt, model)
        return rebuilt

    return fw.reduced_model(model, dtype, rebuild)
