"""`aibench bench`: native and ONNX Runtime timings of zoo models or a user's model, and the effects between
them."""

from __future__ import annotations

from typing import Optional

import typer

from aibench_onnx.cli import options
from aibench_onnx.cli.app import app, user_errors_exit
from aibench_onnx.cli.common import (
    choose,
    chosen_graphs,
    make_console,
    output_dir,
    parse_batches,
    parse_eps,
    parse_levels,
    parse_precisions,
    parse_thread_counts,
    progress_bar,
    split_csv,
    warn_if_busy,
)
from aibench_onnx.cli.user_models import parse_dim_sweeps
from aibench_onnx.errors import ExitCode, UserError
from aibench_onnx.status import exit_code
from aibench_onnx.timing.schedule import VARIANCE_CONTROLS


@app.command()
@user_errors_exit
def bench(
    model_names: Optional[list[str]] = typer.Argument(None, metavar="[MODELS]...", help="Zoo models (default: all), "
                                                      "one pkg.module:factory of your own with --framework, or "
                                                      "ONNX files (two or more: the same function, compared)."),
    frameworks: options.Frameworks = None,
    exporter: options.Exporter = None,
    size: options.Size = None,
    opset: options.Opset = None,
    trust_code: options.TrustCode = False,
    inputs: options.Input = None,
    inputs_from: options.InputsFrom = None,
    call_args: options.CallArg = None,
    dim: options.Dim = None,
    runtime: options.Runtime = None,
    ep: options.Ep = "cpu",
    opt_level: options.OptLevel = "disabled,all",
    io_binding: str = typer.Option("on", "--io-binding", rich_help_panel=options.RUNTIMES,
                                   help="ORT IO binding: on, off or both."),
    cuda_graph: str = typer.Option("off", "--cuda-graph", rich_help_panel=options.RUNTIMES,
                                   help="ORT CUDA graph replay (cuda EP with IO binding): off, on or both."),
    tf32: options.Tf32 = False,
    device: options.Device = "cpu",
    precision: options.Precision = "fp32",
    threads: options.Threads = None,
    batch: options.Batch = None,
    repeats: options.Repeats = 3,
    min_time: options.MinTime = 1.0,
    timeout: options.Timeout = 900.0,
    prompt: options.Prompt = "16,128",
    new_tokens: options.NewTokens = 32,
    out: options.Out = None,
    json_path: options.Json = None,
) -> None:
    """Time native eager and compiled runtimes and ONNX Runtime (per provider and optimization level) with one
    method, each configuration in R fresh processes (interleaved rounds), and split the differences into
    exporter, optimizer and runtime effects with CIs that count the variance between processes."""

    from aibench_onnx.cli.user_models import user_model
    from aibench_onnx.exporters import DEFAULT_OPSET
    from aibench_onnx.frameworks.saved import is_saved_model
    from aibench_onnx.timing.file_bench import looks_like_file
    from aibench_onnx.jsonio import STDOUT, check_writable, write_json
    from aibench_onnx.runtimes import ALL_RUNTIMES, REFERENCE, runtimes_of
    from aibench_onnx.runs.bench import bench_run, refuse_earlier_run
    from aibench_onnx.timing.bench import BENCH_SCHEMA_VERSION, zoo_subjects
    from aibench_onnx.timing.configs import plan
    from aibench_onnx.zoo.registry import check_size, resolve_models

    thread_counts = parse_thread_counts(threads)  # options first: a bad one is said before any file is read
    user, sweeps, files = None, {}, None
    if any(looks_like_file(name) for name in model_names or []):
        files = _files_subject(model_names, frameworks, exporter, size, call_args, inputs, inputs_from, dim, out)
        specs, chosen = [], files.graphs
    elif any(":" in name or is_saved_model(name) for name in model_names or []):
        if len(model_names) > 1:
            raise UserError("bench times one model of your own at a time (pkg.module:factory); zoo models go alone")
        if size is not None:
            raise UserError("--size chooses a zoo model's size; your model's size is its inputs and --dim")
        sweeps = parse_dim_sweeps(dim)
        user = user_model(model_names[0], frameworks or "", inputs, inputs_from, call_args,
                          {name: sizes[0] for name, sizes in sweeps.items()}, trust_code=trust_code)
        specs, chosen = [], [user.framework]
    else:
        if inputs or inputs_from or call_args or dim:
            raise UserError("--input, --inputs, --call-arg and --dim describe a model of your own (pkg.module:factory)")
        specs = resolve_models(model_names)
        chosen = chosen_graphs(frameworks, exporter)
    if files is not None:
        from aibench_onnx.runtimes import GRAPH_RUNTIMES

        runtimes = choose(split_csv(runtime), list(GRAPH_RUNTIMES), [REFERENCE],
                          "runtime (ONNX files run on graph runtimes)")
    else:
        runtimes = choose(split_csv(runtime), ALL_RUNTIMES, runtimes_of(chosen), "runtime")
    eps = parse_eps(ep)
    levels = parse_levels(opt_level)
    binding_modes = {"on": [True], "off": [False], "both": [True, False]}.get(io_binding)
    if binding_modes is None:
        raise UserError(f"unknown --io-binding {io_binding!r}; valid: on, off, both")
    graph_modes = {"off": (False,), "on": (True,), "both": (False, True)}.get(cuda_graph)
    if graph_modes is None:
        raise UserError(f"unknown --cuda-graph {cuda_graph!r}; valid: off, on, both")
    if True in graph_modes and ("cuda" not in eps or True not in binding_modes):
        raise UserError("--cuda-graph needs --ep cuda and IO binding (--io-binding on or both)")
    (device,) = choose([device], ["cpu", "cuda"], ["cpu"], "device")

    precisions = parse_precisions(precision)
    if precisions != ("fp32",) and REFERENCE not in runtimes:
        raise UserError(f"--precision chooses graphs of the reference runtime; add {REFERENCE} to --runtime")
    batches = parse_batches(batch or "1,8") if files is None else _file_batches(files, batch)
    if new_tokens < 2:
        raise UserError(f"--new-tokens {new_tokens}: bench times a decode step at the cache's start and end, "
                        "2 at least")
    for spec in specs:
        check_size(spec, size or spec.default_size)
    if json_path is not None:
        check_writable(json_path)
    out_dir = files.workdir if files is not None else output_dir(out, "bench")
    # the bench's run: OUT itself, or a run per thread count under it (each with its own effects)
    run_dirs = {count: out_dir / f"threads-{count}" if len(thread_counts) > 1 else out_dir for count in thread_counts}
    for run_dir in run_dirs.values():
        refuse_earlier_run(run_dir)
    timing = {"min_time_s": min_time}
    configs = plan(chosen, runtimes, eps, levels, binding_modes, graph_modes, precisions)
    console = make_console(stderr=json_path == STDOUT)
    exported: dict[str, dict] = {}  # a user's model: exported once here, for every point of its sweep
    if files is not None:
        from aibench_onnx.timing.file_bench import file_exports

        subject = files.subject
        exported = file_exports(files, configs, batches)
        subjects = [subject]
    elif user is not None:
        subjects, exported = _user_subjects(user, sweeps, configs, out_dir, opset or DEFAULT_OPSET, console)
    else:
        subjects = zoo_subjects(specs, size, tuple(parse_batches(prompt, "--prompt")), new_tokens)
    warn_if_busy(console, max(thread_counts))
    with progress_bar(console) as progress:
        task = progress.add_task("bench", total=len(subjects) * len(configs) * repeats * len(thread_counts))

        def done(model: str, replicate) -> None:  # a timing.bench.ProcessResult
            progress.advance(task)
            medians = ", ".join(f"b{b} {r['measurement']['summary']['median_s'] * 1e3:.3f} ms"
                                for b, r in replicate.batches.items())
            progress.console.print(f"{model} {replicate.config.label} round {replicate.round + 1}: "
                                   f"{replicate.status} {medians}", highlight=False)
            progress.refresh()

        results = []  # one bench per thread count, each with its own effects (counts are not interleaved)
        for count, run_dir in run_dirs.items():
            try:
                benches = bench_run(subjects, configs, batches, count, timing, run_dir, device, timeout,
                                    opset or DEFAULT_OPSET, repeats, on_result=done, tf32=tf32, exported=exported)
            except KeyboardInterrupt:
                raise UserError(f"interrupted; the processes that finished are kept in {run_dir} (aibench report "
                                f"{run_dir} shows them)", ExitCode.INTERRUPTED) from None
            exported = {bench.model: bench.exports for bench in benches}  # exported once, for every count
            results += benches
    documents = [r.to_dict() for r in results]
    print_benches(results, console, new_tokens, show_threads=len(thread_counts) > 1)
    shown = ", ".join(str(run_dir) for run_dir in run_dirs.values())
    console.print(f"artifacts and the bench's run: {shown} (aibench report, compare and explain read it)")
    if json_path is not None:
        from aibench_onnx.runs.store import load_run

        write_json({"schema_version": BENCH_SCHEMA_VERSION, "command": "bench",
                    "runs": [str(run_dir.resolve()) for run_dir in run_dirs.values()],
                    "settings": {"size": size, "user_model": user.to_dict() if user else None,
                                 "files": files.subject.file if files else None, "frameworks": chosen,
                                 "runtimes": runtimes, "eps": eps,
                                 "opt_levels": levels, "io_binding": io_binding, "cuda_graph": cuda_graph,
                                 "tf32": tf32, "precisions": list(precisions), "batches": batches,
                                 "prompts": parse_batches(prompt, "--prompt"), "new_tokens": new_tokens,
                                 "device": device, "threads": thread_counts[0],
                                 "thread_counts": thread_counts, "timing": timing, "timeout_s": timeout,
                                 "repeats": repeats, "variance_controls": VARIANCE_CONTROLS},
                    "environment": load_run(run_dirs[thread_counts[0]])["environment"], "results": documents},
                   json_path)
    statuses = [r.status for bench_result in results for r in bench_result.results]
    raise typer.Exit(int(exit_code(statuses)))


def print_benches(results: list, console, new_tokens: int = 0, show_threads: bool = False) -> None:
    """The bench's tables (report/bench_view.py) on the console."""
    from aibench_onnx.report.bench_view import bench_tables
    from aibench_onnx.report.render import to_rich

    for table in bench_tables(results, new_tokens, show_threads):
        console.print(to_rich(table))


def _user_subjects(user, sweeps: dict[str, list[int]], configs, out_dir, opset: int, console) -> tuple[list, dict]:
    """The sweep's subjects and their one export (runs/bench.user_sweep), the export shown as it comes."""
    from aibench_onnx.cli.user_models import describe_export
    from aibench_onnx.runs.bench import user_sweep
    from aibench_onnx.status import Status

    with console.status(f"building and exporting {user.target} with {user.framework}..."):
        subjects, exports = user_sweep(user, sweeps, configs, out_dir, opset)
    record = exports.get(user.framework)
    if record is not None and record["status"] == Status.OK:
        describe_export(record, console)
    elif record is not None:
        console.print(f"[red]export failed:[/] {record['reason']}", highlight=False)
    return subjects, {subject.name: exports for subject in subjects}


def _files_subject(names: list[str], frameworks, exporter, size, call_args, inputs, inputs_from, dim, out):
    """ONNX files as one subject (timing/file_bench.py); what describes a framework model is refused."""
    import os
    from pathlib import Path

    from aibench_onnx.graph.input_decl import single_dims
    from aibench_onnx.timing.file_bench import file_subject, looks_like_file

    odd = [name for name in names if not looks_like_file(name)]
    if odd:
        raise UserError(f"{odd[0]}: bench times zoo models, one model of your own, or ONNX files — not a mix")
    for given, option in ((frameworks, "--framework"), (exporter, "--exporter"), (size, "--size"),
                          (call_args, "--call-arg")):
        if given:
            raise UserError(f"{option} describes a zoo or framework model; ONNX files are timed as they are")
    dims = single_dims(parse_dim_sweeps(dim), "bench of ONNX files")
    return file_subject(list(names), list(inputs or []), dims, inputs_from, os.getcwd(),
                        Path(output_dir(out, "bench")))


def _file_batches(files, batch: str | None) -> list[int]:
    """The batches of ONNX files: --batch sets their inputs' dynamic first axes (default 1); with none left to
    set, the sizes as given (one "batch", a label)."""
    given = files.subject.file
    if batch is None:
        return [given["given_batch"]]
    batches = parse_batches(batch)
    if not given["batch_axes"] and batches != [given["given_batch"]]:
        raise UserError(f"--batch {batch}: no dynamic first axis is left to set (the inputs' sizes are all given "
                        "by --input, --dim or --inputs); time other sizes with --dim")
    return batches
