"""One adapter per framework: turn a ModelSpec's builder into a model, run it on numpy inputs, count
its parameters. Each adapter imports its framework inside its functions, never at module level."""

from __future__ import annotations

import importlib
from types import ModuleType

from aibench_onnx.errors import ExitCode, UserError

# framework -> (adapter module, import names it needs, pip extra)
ADAPTERS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "torch": ("aibench_onnx.frameworks.torch_fw", ("torch",), "torch"),
    "tf": ("aibench_onnx.frameworks.tf_fw", ("tensorflow",), "tf"),
    "jax": ("aibench_onnx.frameworks.jax_fw", ("jax", "flax"), "jax"),
}


def missing_framework(framework: str) -> str | None:
    """None when the framework can be imported, else the pip command that installs it."""
    import importlib.util

    _, modules, extra = ADAPTERS[framework]
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    return f"not installed: pip install 'aibench-onnx[{extra}]'" if missing else None


def adapter(framework: str) -> ModuleType:
    if framework not in ADAPTERS:
        raise UserError(f"unknown framework {framework!r}; choose from {', '.join(ADAPTERS)}")
    problem = missing_framework(framework)
    if problem:
        raise UserError(f"{framework}: {problem}", ExitCode.ENVIRONMENT)
    return importlib.import_module(ADAPTERS[framework][0])
