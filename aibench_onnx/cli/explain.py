"""`aibench explain`: where the time of an effect goes, and why — on two ONNX files (one function exported two
ways), one file (what ONNX Runtime's optimizer did), a run directory or a bench JSON (every significant
effect). Profiles are taken in a pass of their own, never during a timed measurement."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from aibench_onnx.cli import options
from aibench_onnx.cli.app import app, user_errors_exit
from aibench_onnx.cli.common import default_threads, make_console, parse_threads
from aibench_onnx.errors import UserError


@app.command()
@user_errors_exit
def explain(
    target: str = typer.Argument(..., metavar="TARGET",
                                 help="A run directory, a bench JSON, or an ONNX file (the baseline with OTHER)."),
    other: Optional[str] = typer.Argument(None, metavar="[OTHER]",
                                          help="A second ONNX file of the same function: the candidate."),
    ep: options.Ep = "cpu",
    opt_level: options.OptLevel = "all",
    dim: options.Dim = None,
    every: bool = typer.Option(False, "--all", help="Explain every effect, not only significant ones (runs)."),
    threads: options.Threads = None,
    json_path: options.Json = None,
    node_data: options.NodeData = None,
) -> None:
    """Split an effect into operator types and source modules, list the optimizer's fusions on each side, and
    rate each operator type against this machine's measured peaks. A run keeps it as explain.json, which
    `aibench report` shows as its "Why" section."""
    from aibench_onnx.cli.common import parse_eps, parse_levels
    from aibench_onnx.cli.user_models import parse_dim_sweeps, single_dims
    from aibench_onnx.jsonio import STDOUT, check_writable, check_writable_dir, write_json
    from aibench_onnx.runs.explain_run import explain_bench, explain_files, explain_run, save_run_explanations
    from aibench_onnx.runs.store import is_run_directory

    if json_path is not None:
        check_writable(json_path)
    if node_data is not None:
        check_writable_dir(node_data, "--node-data")
    console = make_console(stderr=json_path == STDOUT)
    threads = parse_threads(threads) or default_threads()
    (ep,) = _one(parse_eps(ep), "--ep")
    (level,) = _one(parse_levels(opt_level), "--opt-level")
    dims = single_dims(parse_dim_sweeps(dim), "explain")
    with console.status("profiling...") as status:
        if other is not None or target.endswith(".onnx"):
            document = explain_files(target, other, ep, level, threads, dims)
        elif is_run_directory(target):
            document = explain_run(target, threads, every, lambda model: status.update(f"profiling {model}..."))
        else:
            document = explain_bench(target, threads, every, lambda model: status.update(f"profiling {model}..."))
    if node_data is not None:
        _write_node_data(document, Path(node_data))
        if other is None and is_run_directory(target):  # the run's report lists the files
            save_run_explanations(target, document)
    if json_path != STDOUT:
        _render(document, console)
    if json_path is not None:
        write_json(document, json_path)


def _write_node_data(document: dict, directory: Path) -> None:
    """Each explanation's per-node time as Model Explorer node-data files (explain/node_time.py), recorded in it."""
    import re

    from aibench_onnx.explain.node_time import write_node_data

    for index, explanation in enumerate(document["explanations"]):
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{index}-{explanation['subject']}-{explanation.get('kind', '')}")
        written = write_node_data(explanation, directory, stem)
        if written is not None:
            explanation["node_data"] = written


def _one(values: list[str], option: str) -> list[str]:
    if len(values) != 1:
        raise UserError(f"{option}: explain takes one value")
    return values


def _render(document: dict, console) -> None:
    from rich.markup import escape

    from aibench_onnx.report.render import to_rich
    from aibench_onnx.report.why_view import why_lines, why_tables

    explanations = [e for e in document["explanations"] if "not_explained" not in e]
    skipped: dict[str, list[str]] = {}
    for entry in document["explanations"]:
        if "not_explained" in entry:
            skipped.setdefault(entry["not_explained"], []).append(f"{entry['subject']} {entry['candidate']}")
    if not document["explanations"]:
        console.print("no significant graph or runtime effect to explain (--all explains every effect)")
    for line, explanation in zip(why_lines(explanations), explanations):
        console.print(f"[bold]{escape(line)}[/bold]", highlight=False)
        for note in explanation.get("attribution", {}).get("notes", []):
            console.print(f"  note: {escape(note)}", highlight=False)
        for table in why_tables(explanation):
            console.print(to_rich(table))
    for reason, effects in skipped.items():
        shown = ", ".join(effects[:3]) + (f" and {len(effects) - 3} more" if len(effects) > 3 else "")
        console.print(f"not explained ({len(effects)}): {escape(shown)} — {escape(reason)}", highlight=False)
    if document.get("peaks"):
        peaks = document["peaks"]
        console.print(f"machine peaks ({peaks['threads']} threads, measured {peaks['measured']}): "
                      f"{peaks['gflops']:.1f} GFLOP/s, {peaks['gbytes_per_s']:.1f} GB/s", highlight=False)
    console.print(f"explained in {document['wall_s']:.1f} s", highlight=False)
