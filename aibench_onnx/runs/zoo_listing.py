"""`aibench models` (report data): the zoo as data — names, sizes, inputs, parameter counts, frameworks."""

from __future__ import annotations

from aibench_onnx.frameworks import FRAMEWORKS, missing_framework
from aibench_onnx.zoo.registry import all_specs, model_module


def framework_status() -> dict[str, str]:
    """framework -> "installed" or the pip command that installs it (found without importing)."""
    return {fw: missing_framework(fw) or "installed" for fw in FRAMEWORKS}


def zoo_document() -> dict:
    installed = framework_status()
    models = []
    for spec in all_specs():
        module = model_module(spec.name)
        models.append({
            "name": spec.name,
            "family": spec.family,
            "description": spec.description,
            "default_size": spec.default_size,
            "sizes": {size: dict(dims) for size, dims in spec.sizes.items()},
            "inputs": [{"name": t.name, "shape": list(t.shape), "dtype": t.dtype, "generator": t.generator}
                       for t in spec.inputs],
            "outputs": [{"name": t.name, "shape": list(t.shape), "dtype": t.dtype} for t in spec.outputs],
            "param_count": {size: spec.param_count(size) for size in spec.sizes},
            "frameworks": {fw: ("defined, " + installed[fw]) if hasattr(module, f"build_{fw}") else "not defined"
                           for fw in FRAMEWORKS},
            "layout": spec.layout,
            "tolerances": {dtype: {"rtol": t.rtol, "atol": t.atol, "reason": t.reason}
                           for dtype, t in spec.tolerances.items()},
            "param_count_delta": {fw: delta[1] for fw, delta in spec.param_count_delta.items()},
        })
    return {"schema_version": 1, "frameworks": installed, "models": models}
