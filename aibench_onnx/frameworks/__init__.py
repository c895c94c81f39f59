"""Everything specific to PyTorch, TensorFlow and JAX, and the one table that describes them.

One adapter module per framework (torch_fw, tf_fw, jax_fw) turns a zoo builder into a model, runs it on
numpy inputs, counts its parameters, says whether an object is one of its models, lists its devices and
prepares the timed call of each of its runtime kinds. Adapters import their framework at module level, so
only workers import them; this module imports none.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from aibench_onnx.errors import ExitCode, UserError


@dataclass(frozen=True)
class Framework:
    name: str  # what the CLI and every result call it: torch, tf, jax
    package: str  # the distribution users know it by (`aibench env` shows it under this name)
    extra: str  # pip install 'aibench-onnx[EXTRA]'
    imports: tuple[str, ...]  # modules that must be importable for it to run
    export_depends_on: tuple[str, ...]  # distributions whose versions an exported graph depends on
    adapter: str  # module with build/run/param_count/is_model/probe_devices/prepare_timed
    exporter: str  # module with export() and exporter_info()
    eager: str | None  # the runtime kind that runs the model op by op
    compiled: tuple[str, ...]  # runtime kinds that compile the whole model first


FRAMEWORKS: dict[str, Framework] = {
    "torch": Framework("torch", "torch", "torch", ("torch",), ("torch", "onnxscript"),
                       "aibench_onnx.frameworks.torch_fw", "aibench_onnx.exporters.torch_dynamo",
                       "torch-eager", ("torch-compile",)),
    "tf": Framework("tf", "tensorflow", "tf", ("tensorflow",), ("tensorflow", "tf2onnx"),
                    "aibench_onnx.frameworks.tf_fw", "aibench_onnx.exporters.tf2onnx_function",
                    "tf-eager", ("tf-function", "tf-xla")),
    "jax": Framework("jax", "jax", "jax", ("jax", "flax"), ("jax", "flax", "jax2onnx"),
                     "aibench_onnx.frameworks.jax_fw", "aibench_onnx.exporters.jax2onnx_module",
                     None, ("jax-jit",)),
}

ORT_RUNTIME = "ort"  # ONNX Runtime running a framework's exported graph
# runtime kind -> the framework whose native model it runs (eager first, then compiled, per framework)
NATIVE_RUNTIMES: dict[str, str] = {
    kind: fw.name for fw in FRAMEWORKS.values() for kind in ((fw.eager,) if fw.eager else ()) + fw.compiled
}
ALL_RUNTIMES: list[str] = list(NATIVE_RUNTIMES) + [ORT_RUNTIME]


def runtimes_of(frameworks: list[str], kinds: list[str] | None = None) -> list[str]:
    """The runtime kinds (of `kinds`, default all) that the chosen frameworks can time: their own native
    kinds, and ORT, which runs any of their graphs."""
    return [kind for kind in kinds or ALL_RUNTIMES if kind == ORT_RUNTIME or NATIVE_RUNTIMES[kind] in frameworks]


def missing_framework(framework: str) -> str | None:
    """None when the framework can be imported, else the pip command that installs it."""
    import importlib.util

    entry = FRAMEWORKS[framework]
    missing = [name for name in entry.imports if importlib.util.find_spec(name) is None]
    return f"not installed: pip install 'aibench-onnx[{entry.extra}]'" if missing else None


def adapter(framework: str) -> ModuleType:
    if framework not in FRAMEWORKS:
        raise UserError(f"unknown framework {framework!r}; choose from {', '.join(FRAMEWORKS)}")
    problem = missing_framework(framework)
    if problem:
        raise UserError(f"{framework}: {problem}", ExitCode.ENVIRONMENT)
    return importlib.import_module(FRAMEWORKS[framework].adapter)
