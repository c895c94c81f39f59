"""What a user's model needs for reduced-precision parity, made in its framework's process next to the export:
the framework's own fp16 / bf16 run on every reference input set (the error the precision costs by itself) and
int8-static's calibration sets (the model's own inputs at seeds the judged sets never use)."""

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


def user_calibration(user) -> tuple[list[dict[str, np.ndarray]], str]:
    """int8-static's calibration sets from the user's inputs (declared ranges or input factory) at the
    calibration seeds, and what they are; stored inputs (.npz, test_data_set) have one set only, which is
    then also judged."""
    from aibench_onnx.parity.precision import CALIBRATION_SEED, calibration_sets

    if user.stored_inputs:
        return [user.arrays()], "calibrated on the stored inputs, the same set that is judged (stored inputs have no other set)"
    return (calibration_sets(lambda seed: user.arrays(seed=seed)),
            f"calibrated on the model's inputs at seeds {CALIBRATION_SEED}+, disjoint from the judged sets")


def write_user_calibration(user, out_dir: Path) -> tuple[list[str], str]:
    """user_calibration's sets written as .npz files (the quantizer runs in ORT's worker), and what they are."""
    from aibench_onnx.parity.precision import write_calibration

    feeds, note = user_calibration(user)
    return write_calibration(feeds, out_dir), note
