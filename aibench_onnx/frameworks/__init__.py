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
class Exporter:
    """One exporter of one framework. The graphs it writes are named, in every key, label and record, after
    the framework for the framework's default exporter (`torch`, as before there were several) and after
    the exporter otherwise (`torch-script`): `graph_name`."""

    name: str  # what --exporter calls it: torch-dynamo, torch-script, tf2onnx, jax2onnx
    framework: str
    module: str  # with export() and exporter_info()
    depends_on: tuple[str, ...]  # distributions whose versions an exported graph depends on
    note: str = ""  # said in every export record it makes


@dataclass(frozen=True)
class Framework:
    name: str  # what the CLI and every result call it: torch, tf, jax
    package: str  # the distribution users know it by (`aibench env` shows it under this name)
    extra: str  # pip install 'aibench-onnx[EXTRA]'
    imports: tuple[str, ...]  # modules that must be importable for it to run
    adapter: str  # module with build/run/param_count/is_model/probe_devices/prepare_timed
    exporters: tuple[str, ...]  # its exporters (EXPORTERS), the default first
    eager: str | None  # the runtime kind that runs the model op by op
    compiled: tuple[str, ...]  # runtime kinds that compile the whole model first


FRAMEWORKS: dict[str, Framework] = {
    "torch": Framework("torch", "torch", "torch", ("torch",), "aibench_onnx.frameworks.torch_fw",
                       ("torch-dynamo", "torch-script"), "torch-eager", ("torch-compile",)),
    "tf": Framework("tf", "tensorflow", "tf", ("tensorflow",), "aibench_onnx.frameworks.tf_fw", ("tf2onnx",),
                    "tf-eager", ("tf-function", "tf-xla")),
    "jax": Framework("jax", "jax", "jax", ("jax", "flax"), "aibench_onnx.frameworks.jax_fw", ("jax2onnx",),
                     None, ("jax-jit",)),
}

EXPORTERS: dict[str, Exporter] = {
    "torch-dynamo": Exporter("torch-dynamo", "torch", "aibench_onnx.exporters.torch_dynamo", ("torch", "onnxscript")),
    "torch-script": Exporter("torch-script", "torch", "aibench_onnx.exporters.torch_script", ("torch",),
                             "torch.onnx's TorchScript-based exporter (dynamo=False): deprecated since torch 2.9, "
                             "still what many deployed pipelines use"),
    "tf2onnx": Exporter("tf2onnx", "tf", "aibench_onnx.exporters.tf2onnx_function", ("tensorflow", "tf2onnx")),
    "jax2onnx": Exporter("jax2onnx", "jax", "aibench_onnx.exporters.jax2onnx_module", ("jax", "flax", "jax2onnx")),
}


def graph_name(exporter: str) -> str:
    """The name of the graphs `exporter` writes: its framework's name for the framework's default exporter."""
    entry = EXPORTERS[exporter]
    return entry.framework if FRAMEWORKS[entry.framework].exporters[0] == exporter else exporter


# graph name (torch, torch-script, tf, jax) -> the exporter that writes it
GRAPHS: dict[str, Exporter] = {graph_name(name): entry for name, entry in EXPORTERS.items()}


def framework_of(name: str) -> str:
    """The framework of a framework or graph name (`torch-script` -> `torch`)."""
    return GRAPHS[name].framework if name in GRAPHS else name


def resolve_graphs(frameworks: list[str], exporters: list[str] | None) -> list[str]:
    """The graphs to export: for each framework, the exporters named for it (`--exporter`), else its default.
    An exporter whose framework was not chosen is a one-line error."""
    if not exporters:
        return list(frameworks)
    unknown = [name for name in exporters if name not in EXPORTERS]
    if unknown:
        raise UserError(f"unknown exporter {', '.join(map(repr, unknown))}; valid: {', '.join(EXPORTERS)}")
    orphans = [name for name in exporters if EXPORTERS[name].framework not in frameworks]
    if orphans:
        raise UserError(f"exporter {', '.join(orphans)} needs its framework in --frameworks "
                        f"({', '.join(EXPORTERS[name].framework for name in orphans)})")
    graphs = []
    for framework in frameworks:
        named = [name for name in exporters if EXPORTERS[name].framework == framework]
        graphs += [graph_name(name) for name in named or FRAMEWORKS[framework].exporters[:1]]
    return list(dict.fromkeys(graphs))


# runtime kind -> the framework whose native model it runs (eager first, then compiled, per framework)
NATIVE_RUNTIMES: dict[str, str] = {
    kind: fw.name for fw in FRAMEWORKS.values() for kind in ((fw.eager,) if fw.eager else ()) + fw.compiled
}


def missing_framework(framework: str) -> str | None:
    """None when the framework (or a graph's framework) can be imported, else the pip command that installs it."""
    import importlib.util

    entry = FRAMEWORKS[framework_of(framework)]
    missing = [name for name in entry.imports if importlib.util.find_spec(name) is None]
    return f"not installed: pip install 'aibench-onnx[{entry.extra}]'" if missing else None


def adapter(framework: str) -> ModuleType:
    """The adapter of a framework (or of a graph's framework)."""
    framework = framework_of(framework)
    if framework not in FRAMEWORKS:
        raise UserError(f"unknown framework {framework!r}; choose from {', '.join(FRAMEWORKS)}")
    problem = missing_framework(framework)
    if problem:
        raise UserError(f"{framework}: {problem}", ExitCode.ENVIRONMENT)
    return importlib.import_module(FRAMEWORKS[framework].adapter)


def resolve_frameworks(names: list[str] | None) -> list[str]:
    if not names:
        return list(FRAMEWORKS)
    unknown = [n for n in names if n not in FRAMEWORKS]
    if unknown:
        raise UserError(f"unknown framework {', '.join(map(repr, unknown))}; valid: {', '.join(FRAMEWORKS)}")
    return list(dict.fromkeys(names))


@dataclass(frozen=True)
class FrameworkProbeRequest:
    """What the worker framework_probe imports: one framework, by name."""

    framework: str

    def to_dict(self) -> dict:
        return {"framework": self.framework}

    @classmethod
    def from_dict(cls, data: dict) -> FrameworkProbeRequest:
        return cls(data["framework"])


def probe_framework(document: dict) -> dict:
    """The worker `framework_probe`: import one framework (a FrameworkProbeRequest) and report the devices it sees.
    Each framework gets its own process: importing TensorFlow, JAX and PyTorch together makes them fight over
    thread pools and GPU memory, and an import can crash the interpreter."""
    import time
    import traceback

    request = FrameworkProbeRequest.from_dict(document)
    started = time.perf_counter()
    try:
        found = {"ok": True, **adapter(request.framework).probe_devices()}
    except Exception as exc:  # noqa: BLE001 - an import failure is the finding
        found = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc(limit=4)}
    found["import_and_probe_s"] = round(time.perf_counter() - started, 2)
    return found
