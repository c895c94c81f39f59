"""The `check` command: a user's ONNX file, or a user's framework model (pkg.module:factory)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from aibench_onnx.cli.app import app, user_errors_exit
from aibench_onnx.cli.common import choose, default_threads, make_console, split_csv
from aibench_onnx.errors import ExitCode, UserError
from aibench_onnx.status import Status, exit_code


def _parse_dims(values: Optional[list[str]]) -> dict[str, int]:
    dims = {}
    for text in values or []:
        name, _, size = text.partition("=")
        if not name or not size.isdigit() or int(size) < 1:
            raise UserError(f"--dim {text!r}: expected NAME=SIZE with a positive size")
        dims[name.strip()] = int(size)
    return dims


@app.command()
@user_errors_exit
def check(
    target: str = typer.Argument(..., metavar="MODEL", help="model.onnx, or pkg.module:factory with --framework."),
    test_data: Optional[list[str]] = typer.Option(None, "--test-data", help="A test_data_set_N directory "
                                                  "(input_K.pb / output_K.pb); repeatable."),
    ep: str = typer.Option("cpu", "--ep", help="Execution providers: cpu,cuda,tensorrt."),
    opt_level: str = typer.Option("disabled,all", "--opt-level", help="Graph optimization levels."),
    dim: Optional[list[str]] = typer.Option(None, "--dim", help="NAME=SIZE for a symbolic dimension; repeatable."),
    framework: Optional[str] = typer.Option(None, "--framework", help="torch, tf or jax: MODEL is pkg.module:factory "
                                            "(this imports and runs your code)."),
    inputs: Optional[list[str]] = typer.Option(None, "--input", help="NAME:DTYPE[dims][@LOW..HIGH] of a framework "
                                               "model's input, e.g. x:float32[batch,16] or "
                                               "input_ids:int64[batch,8]@0..30521; repeatable."),
    bench: bool = typer.Option(False, "--bench", help="Also time each provider x level with the measurement loop."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="Intra-op threads."),
    out: Optional[str] = typer.Option(None, "-o", "--out", help="Where a framework model's export goes."),
    json_path: Optional[str] = typer.Option(None, "--json", metavar="PATH",
                                            help="Also write the result as JSON ('-': only JSON on stdout)."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of unexpected errors."),
) -> None:
    """Check a model you brought: load and validate it, compare ONNX Runtime on every provider x level with a
    reference (stored outputs, onnx's reference evaluator, or ORT CPU unoptimized), audit node placement,
    and localize the first diverging node when they disagree. Exit 1 when a check fails."""

    from aibench_onnx.jsonio import STDOUT, check_writable, write_json
    from aibench_onnx.ort.session import EXECUTION_PROVIDERS, OPT_LEVELS

    eps = choose(split_csv(ep), list(EXECUTION_PROVIDERS), ["cpu"], "execution provider")
    levels = choose(split_csv(opt_level), list(OPT_LEVELS), ["disabled", "all"], "optimization level")
    dims = _parse_dims(dim)
    if json_path is not None:
        check_writable(json_path)
    console = make_console(stderr=json_path == STDOUT)
    threads = threads or default_threads()
    try:
        if framework is not None:
            path, test_data = _export_framework_model(target, framework, inputs, dims, out, threads, console)
        else:
            if inputs:
                raise UserError("--input describes a framework model's inputs; use it with --framework")
            path = target
        from aibench_onnx.parity.check import check_onnx

        with console.status("checking..."):
            result = check_onnx(path, test_data, eps, levels, dims, bench, threads)
    except (UserError, typer.Exit):
        raise
    except Exception as exc:  # noqa: BLE001 - one line unless --debug
        if debug:
            raise
        raise UserError(f"{type(exc).__name__}: {exc}".splitlines()[0][:400] + " (--debug shows the traceback)") from None
    from aibench_onnx.report.check_view import render_check

    render_check(result, console)
    if json_path is not None:
        write_json({"schema_version": 1, "command": "check", **result.to_dict()}, json_path)
    raise typer.Exit(int(exit_code(cell.status for cell in result.cells)))


def _export_framework_model(target, framework, inputs, dims, out, threads, console) -> tuple[str, list[str]]:
    import os

    from aibench_onnx.cli.common import output_dir
    from aibench_onnx.exporters import DEFAULT_OPSET
    from aibench_onnx.frameworks import missing_framework
    from aibench_onnx.frameworks.user_model import USER_ERROR, parse_input
    from aibench_onnx.workers import run_worker
    from aibench_onnx.zoo.registry import resolve_frameworks

    (framework,) = resolve_frameworks([framework])
    if not inputs:
        raise UserError("a framework model needs its inputs: --input NAME:DTYPE[dims] (repeat for each)")
    decls = [parse_input(text) for text in inputs]
    problem = missing_framework(framework)
    if problem:
        raise UserError(f"{framework}: {problem}", ExitCode.ENVIRONMENT)
    out_dir = output_dir(out, "check")
    request = {"target": target, "framework": framework, "inputs": [d.__dict__ for d in decls], "dims": dims,
               "out_dir": str(out_dir), "opset": DEFAULT_OPSET, "cwd": os.getcwd()}
    with console.status(f"building and exporting {target} with {framework}..."):
        outcome = run_worker("aibench_onnx.workers.user_model", request, 1800, out_dir / "user_model_request.json")
    if outcome.died:
        raise UserError(f"{target}: the model's process died: {outcome.reason}")
    document = outcome.document
    if document["status"] == USER_ERROR:
        raise UserError(document["reason"])
    if not outcome.ok:
        raise UserError(f"{target}: {document['reason']}", ExitCode.CHECK_FAILED)
    record = document["export"]
    if record["status"] != Status.OK:
        raise UserError(f"{target}: export with {record['exporter']} failed: {record['reason']}", ExitCode.CHECK_FAILED)
    console.print(f"exported with {record['exporter']} {record['exporter_version']} to {record['path']}")
    return record["path"], [str(Path(out_dir) / "test_data_set_0")]
