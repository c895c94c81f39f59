"""ONNX files a user brought, timed like the zoo: one subject whose graphs are the files (each file a graph of
the same function, so two files make an exporter effect between them), their inputs as the user gave them for
the first file (the same feed must serve every file), ONNX Runtime per provider x level and the other graph
runtimes, precision variants of each file — planned, interleaved and compared by the one bench machinery."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from aibench_onnx.errors import UserError
from aibench_onnx.frameworks.file_inputs import FileInputs
from aibench_onnx.graph.load import load_user_model, runnable_copy
from aibench_onnx.status import Status
from aibench_onnx.subjects import Subject


@dataclass
class FileSubject:
    subject: Subject
    graphs: list[str]  # one graph name per file, in the order given (the first is the exporter reference)
    exports: dict  # graph name -> its record (status, path the runtimes run, the file as given, dims made symbolic)
    workdir: Path  # where the copies, variants and timing caches go


def looks_like_file(target: str) -> bool:
    """A bench target that names an ONNX file (checked when loaded), not a zoo model, a factory or a saved
    framework model (frameworks/saved.py, told apart by content)."""
    from aibench_onnx.frameworks.saved import is_saved_model

    return (target.endswith(".onnx") or Path(target).is_file()) and not is_saved_model(target)


def file_subject(paths: list[str], decls: list[str], dims: dict[str, int], inputs_from: str | None, cwd: str,
                 workdir: Path) -> FileSubject:
    """Each file loaded and checked (a missing or broken one is one line), run as a copy when it declares dims
    as 0 or -1 (graph/load.runnable_copy), and fed the inputs given for the first — a file that cannot take them
    (other input names, static dims) is one line."""
    graphs = _graph_names(paths)
    exports, runnable = {}, []
    for path, graph in zip(paths, graphs):
        model = load_user_model(path)
        run_path, changed = runnable_copy(path, model, workdir / graph)
        runnable.append(run_path)
        exports[graph] = {"status": Status.OK, "path": run_path, "file": str(path), "exporter": "file",
                          "dims_made_symbolic": changed}
    inputs = FileInputs.given(runnable[0], decls, dims, inputs_from, cwd)
    first = inputs.feed()
    for path, run_path in zip(paths[1:], runnable[1:]):
        try:
            other = inputs.feed(path=run_path)
        except UserError as exc:
            raise UserError(f"{path}: cannot take the inputs given for {paths[0]}: {exc}") from None
        if set(other.arrays) != set(first.arrays):
            raise UserError(f"{path}: its inputs ({', '.join(other.arrays)}) are not those of {paths[0]} "
                            f"({', '.join(first.arrays)}): files timed together compute one function")
    name = graphs[0] if len(graphs) == 1 else " vs ".join(graphs)
    return FileSubject(Subject.of_files(name, inputs), graphs, exports, workdir)


def file_exports(files: FileSubject, configs: list, batches: list[int]) -> dict[str, dict]:
    """bench_models' `exported` for the files: each file as a graph, plus the precision variants `configs` time
    (int8-static calibrated on inputs like the first batch's)."""
    from aibench_onnx.artifacts.variants import calibration_sets
    from aibench_onnx.timing.bench import with_variants

    subject = files.subject
    return {subject.name: with_variants(files.exports, configs, lambda: calibration_sets(
        lambda seed: subject.arrays(batches[0], seed)), files.workdir / "variants")}


def _graph_names(paths: list[str]) -> list[str]:
    """Short, distinct names: each file's stem (label-safe), numbered when two share one."""
    names = []
    for path in paths:
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(path).stem).strip("-") or "model"
        name, count = stem, 2
        while name in names:
            name, count = f"{stem}-{count}", count + 1
        names.append(name)
    return names
