"""The zoo's index: model name -> the module in models/ that defines it.

Model modules import only numpy at module level (their builders import the framework inside), so
resolving a spec never loads a framework. To add a model: one file in models/, one line here.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from aibench_onnx.errors import UserError
from aibench_onnx.zoo.spec import ModelSpec

MODELS: dict[str, str] = {
    # macro: whole models
    "mlp": "aibench_onnx.models.mlp",
    "cnn": "aibench_onnx.models.cnn",
    "mobilenet": "aibench_onnx.models.mobilenet",
    "transformer": "aibench_onnx.models.transformer",
    "lstm": "aibench_onnx.models.lstm",
    "unet": "aibench_onnx.models.unet",
    "decoder": "aibench_onnx.models.decoder",
    # micro: one operator each
    "matmul": "aibench_onnx.models.matmul",
    "conv2d": "aibench_onnx.models.conv2d",
    "layernorm": "aibench_onnx.models.layernorm",
    "softmax": "aibench_onnx.models.softmax",
    "attention": "aibench_onnx.models.attention",
    "gelu": "aibench_onnx.models.gelu",
}


def model_module(name: str) -> ModuleType:
    if name not in MODELS:
        raise UserError(f"unknown model {name!r}; valid models: {', '.join(MODELS)}")
    return importlib.import_module(MODELS[name])


def get_spec(name: str) -> ModelSpec:
    return model_module(name).SPEC


def all_specs() -> list[ModelSpec]:
    return [get_spec(name) for name in MODELS]


def resolve_models(names: list[str] | None) -> list[ModelSpec]:
    """The requested models in zoo order (all when none named); unknown names are a one-line error."""
    if not names:
        return all_specs()
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        raise UserError(f"unknown model {', '.join(map(repr, unknown))}; valid models: {', '.join(MODELS)}")
    return [get_spec(name) for name in dict.fromkeys(names)]


def check_size(spec: ModelSpec, size: str) -> None:
    if size not in spec.sizes:
        raise UserError(f"{spec.name}: unknown size {size!r}; valid sizes: {', '.join(spec.sizes)}")


def builder(name: str, framework: str):
    """The model's build_<framework>(params, dims) function."""
    return getattr(model_module(name), f"build_{framework}")
