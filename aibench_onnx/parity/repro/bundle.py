"""A reproduction an upstream maintainer can run without aibench: the reduced subgraph, its inputs, the
expected values, a script that needs only numpy and the one runtime involved (exit 1 while it reproduces,
0 once fixed), and a README saying what differs, by how much, where it came from and whose tracker it
belongs to. A bundle is called a reproduction only after its script reproduced in a fresh process."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from aibench_onnx.parity.repro.reduce import Reduction, refusal_words
from aibench_onnx.zoo.tolerance import Tolerance

EXTERNAL_DATA_BYTES = 16 * 2**20  # a subgraph above this keeps its weights beside it (model.onnx.data)
VERIFY_TIMEOUT_S = 300


@dataclass(frozen=True)
class Tracker:
    """Whose defect it is, where to file it, and the evidence that says so."""

    project: str  # ONNX Runtime | onnx (reference evaluator) | torch.onnx | tf2onnx | jax2onnx | OpenVINO
    url: str
    why: str


TRACKERS = {
    "onnxruntime": ("ONNX Runtime", "https://github.com/microsoft/onnxruntime/issues"),
    "onnx": ("onnx (reference evaluator)", "https://github.com/onnx/onnx/issues"),
    "torch": ("torch.onnx (PyTorch)", "https://github.com/pytorch/pytorch/issues"),
    "tf": ("tf2onnx", "https://github.com/onnx/tensorflow-onnx/issues"),
    "jax": ("jax2onnx", "https://github.com/enpasos/jax2onnx/issues"),
    "openvino": ("OpenVINO", "https://github.com/openvinotoolkit/openvino/issues"),
}


def tracker(key: str, why: str) -> Tracker:
    project, url = TRACKERS[key]
    return Tracker(project, url, why)


@dataclass(frozen=True)
class Target:
    """The runtime configuration the script runs: ONNX Runtime on a provider at a graph optimization level."""

    provider: str = "CPUExecutionProvider"
    level: str = "all"  # disabled | basic | extended | all
    threads: int = 1


@dataclass
class Reproduction:
    """A written bundle and what its fresh-process run said."""

    directory: str
    kind: str  # divergence | refusal
    reproduced: bool  # repro.py exited 1 in a fresh process without aibench importable
    exit_code: int | None
    said: str  # repro.py's last line
    full_nodes: int
    bundle_nodes: int
    nodes: list[str]
    reduction_s: float
    bytes: int
    tracker: Tracker
    note: str = ""
    files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


SCRIPT = '''"""{title}

Needs only numpy and onnxruntime (tested with onnxruntime {ort_version}). Exits 1 while the difference
reproduces, 0 once it is fixed. See README.md.
"""
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

HERE = Path(__file__).resolve().parent
KIND = {kind!r}
PROVIDER = {provider!r}
LEVEL = {level!r}
THREADS = {threads!r}
TENSOR = {tensor!r}
RTOL, ATOL = {rtol!r}, {atol!r}  # |actual - expected| <= ATOL + RTOL * |expected|, elementwise
REFUSAL = {refusal!r}  # KIND "refusal": the words the runtime's error says while it refuses the graph

LEVELS = {{"disabled": ort.GraphOptimizationLevel.ORT_DISABLE_ALL, "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
          "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED, "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}}


def session():
    options = ort.SessionOptions()
    options.graph_optimization_level = LEVELS[LEVEL]
    options.intra_op_num_threads = THREADS
    return ort.InferenceSession(str(HERE / "model.onnx"), options, providers=[PROVIDER])


def main() -> int:
    if KIND == "refusal":
        try:
            session()
        except Exception as error:  # the runtime refuses the graph
            message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            if REFUSAL in str(error):
                print(f"REPRODUCES: onnxruntime refuses the graph: {{message}}")
                return 1
            print(f"onnxruntime refuses the graph for another reason: {{message}}")
            return 2
        print("FIXED: onnxruntime loads the graph")
        return 0
    with np.load(HERE / "inputs.npz") as stored:
        feed = {{name: stored[name] for name in stored.files}}
    with np.load(HERE / "expected.npz") as stored:
        expected = stored[TENSOR]
    actual = np.asarray(session().run([TENSOR], feed)[0])
    if actual.shape != expected.shape:
        print(f"REPRODUCES: {{TENSOR}} has shape {{actual.shape}}, expected {{expected.shape}}")
        return 1
    reference, found = expected.astype(np.float64), actual.astype(np.float64)
    error = np.abs(found - reference)
    bad = ~(error <= ATOL + RTOL * np.abs(reference))
    bad &= ~(np.isnan(reference) & np.isnan(found))
    worst = float(np.nanmax(error)) if error.size else 0.0
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        print(f"REPRODUCES: {{TENSOR}}: {{int(bad.sum())}} of {{bad.size}} elements beyond atol {{ATOL}} + "
              f"rtol {{RTOL}}; max |difference| {{worst:.3g}}; first at {{where}}: {{found[where]!r}} vs expected "
              f"{{reference[where]!r}}")
        return 1
    print(f"FIXED: {{TENSOR}} within atol {{ATOL}} + rtol {{RTOL}} (max |difference| {{worst:.3g}})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''


def _versions() -> dict[str, str]:
    import onnx

    from aibench_onnx.ort.session import runtime_version

    return {"onnxruntime": runtime_version(), "onnx": onnx.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "platform": f"{platform.system()} {platform.machine()}"}


def _save_model(model, directory: Path) -> list[str]:
    import onnx

    path = directory / "model.onnx"
    if model.ByteSize() > EXTERNAL_DATA_BYTES:
        onnx.save(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                  location="model.onnx.data")
        return ["model.onnx", "model.onnx.data"]
    onnx.save(model, str(path))
    return ["model.onnx"]


def source_of(node) -> str:
    """Where the node came from, as the exporter recorded it (torch.onnx's stack trace and module names,
    tf2onnx's and jax2onnx's names), with directories cut: no path of the user's machine leaves with it."""
    props = {p.key: p.value for p in node.metadata_props}
    frames = [line.strip() for line in props.get("pkg.torch.onnx.stack_trace", "").splitlines() if line.strip()]
    found = []
    if frames:
        last = next((f for f in reversed(frames) if f.startswith("File ")), frames[-1])
        found.append(_without_directories(last))
    scope = props.get("pkg.torch.onnx.name_scopes")
    if scope:
        found.append(f"module {scope}")
    return "; ".join(found)


def _without_local_paths(model):
    """A copy of `model` whose nodes' metadata (torch.onnx's stack traces) name source files without their folders:
    a bundle carries no path of the user's machine."""
    import onnx

    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    for node in copy.graph.node:
        for prop in node.metadata_props:
            prop.value = _without_directories(prop.value)
    return copy


def _without_directories(frame: str) -> str:
    import re

    return re.sub(r'File "([^"]*[/\\])?([^"/\\]+)"', r'File "\2"', frame)


def write_bundle(directory: Path, reduction: Reduction, target: Target, tolerance: Tolerance, who: Tracker,
                 title: str, context: list[str], kind: str = "divergence") -> list[str]:
    """Write model.onnx, inputs.npz, expected.npz (a divergence), repro.py and README.md into `directory`;
    returns the file names."""
    directory.mkdir(parents=True, exist_ok=True)
    files = _save_model(_without_local_paths(reduction.model), directory)
    if kind == "divergence":
        np.savez(directory / "inputs.npz", **reduction.inputs)
        np.savez(directory / "expected.npz", **{reduction.tensor: reduction.expected[reduction.tensor]})
        files += ["inputs.npz", "expected.npz"]
    versions = _versions()
    refusal = refusal_words(reduction.reason) if kind == "refusal" else ""
    (directory / "repro.py").write_text(SCRIPT.format(
        title=title, ort_version=versions["onnxruntime"], kind=kind, provider=target.provider, level=target.level,
        threads=target.threads, tensor=reduction.tensor, rtol=tolerance.rtol, atol=tolerance.atol, refusal=refusal))
    (directory / "README.md").write_text(_readme(reduction, target, tolerance, who, title, context, versions, kind))
    return files + ["repro.py", "README.md"]


def refusal_line(message: str) -> str:
    """The runtime's refusal, first line, without the temporary file it was loaded from."""
    import re

    line = message.strip().splitlines()[0] if message.strip() else ""
    return re.sub(r"Load model from \S+ failed:", "", line).strip()


def _readme(reduction: Reduction, target: Target, tolerance: Tolerance, who: Tracker, title: str,
            context: list[str], versions: dict, kind: str) -> str:
    model = reduction.model
    lines = [f"# {title}", "", f"**File it with:** {who.project} — {who.url}", "", f"**Why there:** {who.why}", ""]
    if kind == "divergence":
        lines += ["## What differs", "",
                  f"- tensor `{reduction.tensor}`: max |difference| {reduction.max_abs:.3g} — {reduction.reason}",
                  f"- tolerance: |actual − expected| ≤ {tolerance.atol} + {tolerance.rtol}·|expected| "
                  f"({tolerance.reason})",
                  f"- runtime: ONNX Runtime {versions['onnxruntime']}, {target.provider}, graph optimization level "
                  f"`{target.level}`, {target.threads} intra-op thread(s)",
                  "- `inputs.npz`: the subgraph's inputs, the reference side's own values of those tensors in the full "
                  "graph (deterministic inputs); `expected.npz`: the reference's value of the tensor"]
        computing = [node for node in model.graph.node if node.op_type != "Constant"]
        if len(computing) > 1:
            lines.append(f"- the diverging node alone does not show it from the reference's own inputs: it takes these "
                         f"{len(computing)} nodes together — a rewrite that spans them (a fusion), or rounding "
                         "accumulated over them, each node within tolerance alone")
    else:
        lines += ["## What fails", "", f"- ONNX Runtime {versions['onnxruntime']} refuses to load the graph: "
                  f"`{refusal_line(reduction.reason)}`"]
    lines += ["", "## Run it", "", "```bash", "pip install numpy onnxruntime==" + versions["onnxruntime"],
              "python repro.py   # exit 1: reproduces; exit 0: fixed", "```", "",
              f"## The subgraph: {len(model.graph.node)} of the full graph's {reduction.full_nodes} nodes", ""]
    constants = sum(1 for node in model.graph.node if node.op_type == "Constant")
    for node in model.graph.node:
        if node.op_type == "Constant":
            continue
        source = source_of(node)
        lines.append(f"- `{node.name or node.op_type}` ({node.op_type})" + (f" — {source}" if source else ""))
    if constants:
        lines.append(f"- and {constants} Constant node(s) holding values the others read")
    lines += ["", "## Context", "", *[f"- {line}" for line in context], "",
              "## Versions", "", *[f"- {name}: {value}" for name, value in versions.items()], "",
              f"Reduced by aibench-onnx in {reduction.tries} tries ({reduction.seconds:.1f} s)."]
    return "\n".join(lines) + "\n"


def verify(directory: Path) -> tuple[int | None, str]:
    """Run repro.py in a fresh, isolated interpreter where aibench cannot be imported; (exit code, last line)."""
    guard = ("import runpy, sys; sys.modules['aibench_onnx'] = None; sys.argv = ['repro.py']; "
             "runpy.run_path('repro.py', run_name='__main__')")
    try:
        done = subprocess.run([sys.executable, "-I", "-c", guard], cwd=directory, capture_output=True, text=True,
                              timeout=VERIFY_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None, f"repro.py did not finish in {VERIFY_TIMEOUT_S} s"
    said = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    return done.returncode, said[-1] if said else ""


def bundle(directory: Path, reduction: Reduction, target: Target, tolerance: Tolerance, who: Tracker, title: str,
           context: list[str], kind: str = "divergence") -> Reproduction:
    """Write the bundle, run its script in a fresh process, and say whether it reproduced."""
    files = write_bundle(directory, reduction, target, tolerance, who, title, context, kind)
    code, said = verify(directory)
    size = sum((directory / name).stat().st_size for name in files)
    note = "" if code == 1 else f"repro.py did not reproduce in a fresh process (exit {code}): {said}"
    (directory / "bundle.json").write_text(json.dumps({"title": title, "kind": kind, "tracker": asdict(who),
                                                       "nodes": reduction.node_names, "verified_exit": code},
                                                      indent=1))
    return Reproduction(str(directory), kind, code == 1, code, said, reduction.full_nodes,
                        len(reduction.model.graph.node), reduction.node_names, round(reduction.seconds, 3), size,
                        who, note, files)
