"""A subject's graph, exported the one way its kind is: a zoo model in its framework's worker with the other
zoo models' graphs (artifacts/native.py), a user's model by its own factory (artifacts/user_export.py)."""

from __future__ import annotations

from pathlib import Path

from aibench_onnx.subjects import Subject


def export_subject(subject: Subject, graph: str, out_dir: Path, threads: int, opset: int) -> dict:
    """The export record of `subject`'s graph `graph` (a framework's name, or torch-script) under `out_dir`."""
    if subject.user:
        from aibench_onnx.artifacts.user_export import export_or_failure

        return export_or_failure(subject.user_model(), out_dir / graph, opset)
    from aibench_onnx.artifacts.native import export_graphs

    return export_graphs(subject.spec, subject.size, [graph], out_dir, threads, opset)[graph]
