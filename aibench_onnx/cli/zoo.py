"""`aibench models` (the zoo as a table) and `aibench export` (one zoo model to ONNX)."""

from __future__ import annotations

import typer

from aibench_onnx.cli import options
from aibench_onnx.cli.app import app, user_errors_exit
from aibench_onnx.cli.common import (
    chosen_graphs,
    default_threads,
    make_console,
    output_dir,
    render_and_write,
)
from aibench_onnx.errors import ExitCode, UserError
from aibench_onnx.status import Status


@app.command()
@user_errors_exit
def models(
    json_path: options.Json = None,
) -> None:
    """List the model zoo: sizes, inputs, parameter counts, frameworks. Imports no framework."""

    from aibench_onnx.jsonio import check_writable
    from aibench_onnx.runs.zoo_listing import zoo_document

    if json_path is not None:
        check_writable(json_path)
    from aibench_onnx.report.zoo_view import render_zoo

    render_and_write(zoo_document(), json_path, render_zoo)


@app.command()
@user_errors_exit
def export(
    model_name: str = typer.Argument(..., metavar="MODEL", help="Zoo model."),
    framework: options.Frameworks = None,
    exporter: options.Exporter = None,
    size: options.Size = None,
    opset: options.Opset = None,
    out: options.Out = None,
    json_path: options.Json = None,
) -> None:
    """Export one zoo model to ONNX with its framework's exporter (or the one --exporter names) and print the
    export record."""

    from aibench_onnx.artifacts.native import export_only
    from aibench_onnx.exporters import DEFAULT_OPSET
    from aibench_onnx.frameworks import missing_framework
    from aibench_onnx.jsonio import STDOUT, check_writable, write_json
    from aibench_onnx.zoo.registry import check_size, get_spec

    if not framework:
        raise UserError("export needs the model's framework: -f torch, tf or jax")
    spec = get_spec(model_name)
    graphs = chosen_graphs(framework, exporter)
    if len(graphs) != 1:
        raise UserError(f"export writes one graph; --exporter named {len(graphs)} ({', '.join(graphs)})")
    framework = graphs[0]  # the framework, or the graph of its other exporter (torch-script)
    size = size or spec.default_size
    check_size(spec, size)
    if json_path is not None:
        check_writable(json_path)
    problem = missing_framework(framework)
    if problem:
        raise UserError(f"{framework}: {problem}", ExitCode.ENVIRONMENT)
    out_dir = output_dir(out, f"export-{spec.name}-{framework}")
    console = make_console(stderr=json_path == STDOUT)
    with console.status(f"exporting {spec.name} from {framework}..."):
        record = export_only(spec, size, framework, default_threads(), out_dir, opset or DEFAULT_OPSET)

    from aibench_onnx.report.parity_view import render_export_record

    render_export_record(record, console)
    if json_path is not None:
        write_json(record, json_path)
    if record["status"] != Status.OK:  # an export record says ok or failed
        raise typer.Exit(int(ExitCode.CHECK_FAILED))
