"""The `check` command: a user's ONNX file, or a user's framework model (pkg.module:factory)."""

from __future__ import annotations

import functools
import os
from typing import Optional

import typer

from aibench_onnx.cli import options
from aibench_onnx.cli.app import app, user_errors_exit
from aibench_onnx.cli.common import (
    default_threads,
    make_console,
    output_dir,
    parse_eps,
    parse_error_stats,
    parse_graph_runtimes,
    parse_levels,
    parse_precisions,
    parse_threads,
)
from aibench_onnx.cli.user_models import parse_dim_sweeps, single_dims
from aibench_onnx.errors import UserError
from aibench_onnx.status import Status, exit_code


@app.command()
@user_errors_exit
def check(
    target: str = typer.Argument(..., metavar="MODEL", help="model.onnx; pkg.module:factory with --framework; or a "
                                 "saved model's path: a Hugging Face folder, .keras/.h5, a SavedModel folder, .pt2, "
                                 "TorchScript .pt/.jit."),
    test_data: Optional[list[str]] = typer.Option(None, "--test-data", rich_help_panel=options.INPUTS,
                                                  help="A test_data_set_N directory (input_K.pb / output_K.pb); "
                                                  "repeatable."),
    framework: options.Frameworks = None,
    trust_code: options.TrustCode = False,
    inputs: options.Input = None,
    inputs_from: options.InputsFrom = None,
    call_args: options.CallArg = None,
    dim: options.Dim = None,
    runtime: options.Runtime = None,
    ep: options.Ep = "cpu",
    opt_level: options.OptLevel = "disabled,all",
    precision: options.Precision = "fp32",
    repair: options.Repair = False,
    error_stat: options.ErrorStat = None,
    threads: options.Threads = None,
    bench: options.Bench = False,
    min_time: options.MinTime = 1.0,
    repeats: options.Repeats = None,
    out: options.Out = None,
    repro: options.Repro = None,
    node_data: options.NodeData = None,
    json_path: options.Json = None,
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of unexpected errors."),
) -> None:
    """Check a model you brought: load and validate it, compare ONNX Runtime on every provider x level with a
    reference (stored outputs, onnx's reference evaluator, or ORT CPU unoptimized), audit node placement,
    and localize the first diverging node when they disagree. Exit 1 when a check fails."""

    from aibench_onnx.frameworks.saved import is_saved_model
    from aibench_onnx.graph.input_decl import parse_input
    from aibench_onnx.jsonio import STDOUT, check_writable, check_writable_dir, write_json

    eps = parse_eps(ep)
    runtimes = parse_graph_runtimes(runtime)
    levels = parse_levels(opt_level)
    dims = single_dims(parse_dim_sweeps(dim), "check")

    precisions = parse_precisions(precision)
    error_stats = parse_error_stats(error_stat)
    if json_path is not None:
        check_writable(json_path)
    if not bench and (min_time != 1.0 or repeats is not None):
        raise UserError("--min-time and --repeats time the checked file: use them with --bench")
    for folder, option in ((repro, "--repro"), (node_data, "--node-data")):
        if folder is not None:
            check_writable_dir(folder, option)
    if bench and out is not None:  # --bench's run goes to OUT/bench: one an earlier check left is refused now
        from pathlib import Path

        from aibench_onnx.runs.bench import refuse_earlier_run

        refuse_earlier_run(Path(out) / "bench")
    console = make_console(stderr=json_path == STDOUT)
    threads = parse_threads(threads) or default_threads()
    out_dir = functools.cache(lambda: output_dir(out, "check"))  # created when something is written there
    export = None  # a framework model's export record, kept in the JSON
    try:
        if framework is not None or is_saved_model(target):
            export = _export_framework_model(target, framework, inputs, inputs_from, call_args, dims, out_dir(),
                                             console, precisions, json_path, trust_code)
            path = export["path"]
        else:
            if call_args:
                raise UserError("--call-arg describes a framework model's call; use it with --framework")
            path = target
        common = {"threads": threads, "precisions": precisions, "error_stats": error_stats, "runtimes": runtimes,
                  "repro_dir": repro, "repair": repair, "node_data_dir": node_data}
        with console.status("checking..."):
            if export is not None:  # the one "export a user's model, then check" (run's user models, the API)
                from aibench_onnx.exporters import DEFAULT_OPSET
                from aibench_onnx.parity.export_check import check_export

                subject = (export["name"], "", export.get("graph_name", export["user"]["framework"]),
                           export.get("exporter", ""))
                result = check_export(export, eps, levels, subject=subject, user=export["user"], opset=DEFAULT_OPSET,
                                      test_data=list(test_data or []), **common)
            else:
                from aibench_onnx.parity.check import check_onnx

                result = check_onnx(path, test_data, eps, levels, dims, variants_dir=str(out_dir() / "variants")
                                    if precisions != ("fp32",) else None,
                                    decls=[parse_input(text) for text in inputs or []], inputs_from=inputs_from,
                                    cwd=os.getcwd(), **common)
    except (UserError, typer.Exit):
        raise
    except Exception as exc:  # noqa: BLE001 - one line unless --debug
        if debug:
            raise
        raise UserError(f"{type(exc).__name__}: {exc}".splitlines()[0][:400] + " (--debug shows the traceback)") from None
    from aibench_onnx.report.check_view import render_check

    render_check(result, console, *((export["name"], export["user"]["framework"]) if export else ()))
    benches = []
    if bench:
        # the file as given (a framework model: its export, fed its first reference set), timed in fp32
        benches = _bench_file(path, [] if export else inputs, {} if export else dims,
                              export["test_data"][0] if export else inputs_from, eps, levels, runtimes, threads,
                              out_dir() / "bench", console, min_time, repeats or 3)
    if json_path is not None:
        write_json({"schema_version": 1, "command": "check", **result.to_dict(),
                    **({"export": export} if export else {}),
                    **({"bench": [b.to_dict() for b in benches]} if bench else {})}, json_path)
    raise typer.Exit(int(exit_code([cell.status for cell in result.cells]
                                   + [r.status for b in benches for r in b.results])))


def _bench_file(path: str, decls: list[str] | None, dims: dict[str, int], inputs_from: str | None, eps: list[str],
                levels: list[str], runtimes: tuple[str, ...], threads: int, workdir, console, min_time_s: float,
                repeats: int) -> list:
    """`check --bench`: the checked file through the bench machinery (timing/file_bench.py), each runtime x
    provider x level with IO binding, `repeats` processes, printed as `aibench bench` prints it."""
    from aibench_onnx.cli.bench import print_benches
    from aibench_onnx.cli.common import progress_bar
    from aibench_onnx.exporters import DEFAULT_OPSET
    from aibench_onnx.runs.bench import bench_run
    from aibench_onnx.timing.configs import plan
    from aibench_onnx.timing.file_bench import file_exports, file_subject

    files = file_subject([path], list(decls or []), dims, inputs_from, os.getcwd(), workdir)
    configs = plan(files.graphs, list(runtimes), eps, levels, [True], (False,), ("fp32",))
    batches = [files.subject.file["given_batch"]]
    with progress_bar(console) as progress:
        task = progress.add_task("bench", total=len(configs) * repeats)
        benches = bench_run([files.subject], configs, batches, threads, {"min_time_s": min_time_s}, workdir,
                            "cpu", 900.0, DEFAULT_OPSET, repeats, on_result=lambda *_: progress.advance(task),
                            exported=file_exports(files, configs, batches), command="check")
    print_benches(benches, console)
    return benches


def _export_framework_model(target, framework, inputs, inputs_from, call_args, dims, out_dir, console,
                            precisions, json_path, trust_code) -> dict:
    """Export in the framework's process; the reference: its native outputs at the export sizes and at
    other sizes of every dynamic dimension (plus any --test-data given). Reduced precisions: the framework's
    own fp16 run on the same sets and int8-static's calibration sets come from that process too. An export
    that fails (every exporter of the framework) is one line, exit 1, with `--json` saying what failed."""
    from aibench_onnx.artifacts.user_export import export_in_worker
    from aibench_onnx.cli.user_models import describe_export, exported_or_exit, user_model
    from aibench_onnx.exporters import DEFAULT_OPSET
    from aibench_onnx.jsonio import write_json

    user = user_model(target, framework, inputs, inputs_from, call_args, dims, trust_code=trust_code)
    with console.status(f"building and exporting {target} with {user.framework}..."):
        record = export_in_worker(user, out_dir, DEFAULT_OPSET, precisions=precisions)
    if record["status"] != Status.OK and json_path is not None:
        write_json({"schema_version": 1, "command": "check", "path": None, "status": "export_failed",
                    "reason": record.get("reason", ""), "export": record}, json_path)
    record = exported_or_exit(record, target)
    describe_export(record, console)
    record["name"], record["user"] = user.name, user.to_dict()
    return record
