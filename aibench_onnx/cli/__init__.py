"""The `aibench` command line. Parses, calls the core, renders; imports no ML framework at module level.

Each command imports what it needs inside its body, so `aibench --help` stays as fast as a bare typer app.
"""

from __future__ import annotations

import functools
from typing import Callable, Optional, TypeVar

import typer

from aibench_onnx import __version__
from aibench_onnx.cli.common import (
    PARITY_SCHEMA_VERSION,
    choose,
    default_threads,
    make_console,
    output_dir,
    progress_bar,
    run_agreement,
    run_onnx_parity,
    split_csv,
)
from aibench_onnx.errors import ExitCode, UserError

app = typer.Typer(
    name="aibench",
    help="Check that exported ONNX graphs compute what PyTorch, TensorFlow and JAX compute, "
    "and time where the cost goes: graph or runtime.\n\n"
    "Exit codes: 0 ok, 1 a check failed, 2 bad input, 3 environment problem, 130 interrupted.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

F = TypeVar("F", bound=Callable)


def user_errors_exit(command: F) -> F:
    """Turn UserError into a one-line message and its exit code; Ctrl-C into exit 130."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except UserError as exc:
            _error_console().print(f"[bold red]error:[/bold red] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(int(exc.code)) from None
        except KeyboardInterrupt:
            _error_console().print("interrupted; results already written are kept")
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None

    return wrapper  # type: ignore[return-value]


def _error_console():
    return make_console(stderr=True)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"aibench-onnx {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """aibench: ONNX export parity and honest timing for PyTorch, TensorFlow and JAX models."""


JSON_HELP = "Also write the result as JSON to this path; '-' writes only JSON to stdout."
TF32_HELP = ("Let ORT's CUDA provider compute float32 matmul/conv in TF32 (ORT's own default); off unless "
             "given, since TF32 rounding (~1e-3 relative) would hide or fake graph differences.")


def _render_and_write(document: dict, json_path: str | None, render) -> None:
    """The table, unless JSON alone goes to stdout; then the JSON, when asked for."""
    from aibench_onnx.jsonio import STDOUT, write_json

    if json_path != STDOUT:
        render(document, make_console())
    if json_path is not None:
        write_json(document, json_path)


@app.command()
@user_errors_exit
def env(
    json_path: Optional[str] = typer.Option(None, "--json", metavar="PATH", help=JSON_HELP),
    frameworks: bool = typer.Option(
        False, "--frameworks", help="Also import torch, tensorflow and jax (each in its own process) "
        "and list the devices each sees. Takes seconds."
    ),
) -> None:
    """What this machine can really run: system, GPUs, package versions, and which ONNX Runtime providers truly load."""

    from aibench_onnx.env.collect import collect_environment
    from aibench_onnx.jsonio import check_writable

    if json_path is not None:
        check_writable(json_path)
    from aibench_onnx.report.env_view import render_environment

    _render_and_write(collect_environment(with_frameworks=frameworks), json_path, render_environment)


@app.command()
@user_errors_exit
def models(
    json_path: Optional[str] = typer.Option(None, "--json", metavar="PATH", help=JSON_HELP),
) -> None:
    """List the model zoo: sizes, inputs, parameter counts, frameworks. Imports no framework."""

    from aibench_onnx.jsonio import check_writable
    from aibench_onnx.zoo.listing import zoo_document

    if json_path is not None:
        check_writable(json_path)
    from aibench_onnx.report.zoo_view import render_zoo

    _render_and_write(zoo_document(), json_path, render_zoo)


@app.command()
@user_errors_exit
def export(
    model_name: str = typer.Argument(..., metavar="MODEL", help="Zoo model."),
    framework: str = typer.Option(..., "-f", "--framework", help="torch, tf or jax."),
    size: Optional[str] = typer.Option(None, "--size", help="Size variant (default: the model's default)."),
    opset: Optional[int] = typer.Option(None, "--opset", min=7, max=30, help="ONNX opset (default 18)."),
    out: Optional[str] = typer.Option(None, "-o", "--out", help="Directory for model.onnx and export.json."),
    json_path: Optional[str] = typer.Option(None, "--json", metavar="PATH", help=JSON_HELP),
) -> None:
    """Export one zoo model to ONNX with its framework's exporter and print the export record."""

    from aibench_onnx.exporters import DEFAULT_OPSET
    from aibench_onnx.frameworks import missing_framework
    from aibench_onnx.jsonio import STDOUT, check_writable, write_json
    from aibench_onnx.parity.zoo import export_only
    from aibench_onnx.zoo.registry import check_size, get_spec, resolve_frameworks

    spec = get_spec(model_name)
    (framework,) = resolve_frameworks([framework])
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
    if record["status"] != "ok":
        raise typer.Exit(int(ExitCode.CHECK_FAILED))


@app.command()
@user_errors_exit
def parity(
    model_names: Optional[list[str]] = typer.Argument(None, metavar="[MODELS]...", help="Zoo models (default: all)."),
    frameworks: Optional[str] = typer.Option(None, "-f", "--frameworks", help="Comma-separated: torch,tf,jax."),
    ep: str = typer.Option("cpu", "--ep", help="Execution providers, comma-separated: cpu,cuda,tensorrt."),
    opt_level: str = typer.Option("disabled,all", "--opt-level",
                                  help="Graph optimization levels: disabled,basic,extended,all."),
    size: Optional[str] = typer.Option(None, "--size", help="Size variant (default: each model's default, small)."),
    seeds: int = typer.Option(3, "--seeds", min=1, max=100, help="Random input sets (edge cases come on top)."),
    opset: Optional[int] = typer.Option(None, "--opset", min=7, max=30, help="ONNX opset (default 18)."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="Intra-op threads (default: physical cores)."),
    out: Optional[str] = typer.Option(None, "-o", "--out", help="Artifact directory (default aibench-runs/parity-<time>)."),
    across_frameworks: bool = typer.Option(
        False, "--across-frameworks",
        help="Instead: compare the native frameworks with each other (TF and JAX against PyTorch)."),
    tf32: bool = typer.Option(False, "--tf32", help=TF32_HELP + " Judged with TF32 tolerances (rtol 1e-3, atol 1e-4)."),
    json_path: Optional[str] = typer.Option(None, "--json", metavar="PATH", help=JSON_HELP),
) -> None:
    """Check numerical parity: each zoo model exported with its framework's exporter and run in ONNX Runtime
    (per provider and optimization level) against the framework's own outputs. Exit 0 all passed, 1 a
    check failed, 3 a requested provider or framework is unavailable."""

    from aibench_onnx.exporters import DEFAULT_OPSET
    from aibench_onnx.jsonio import STDOUT, check_writable, write_json
    from aibench_onnx.ort.session import EXECUTION_PROVIDERS, OPT_LEVELS
    from aibench_onnx.zoo.registry import check_size, resolve_frameworks, resolve_models

    specs = resolve_models(model_names)
    chosen = resolve_frameworks(split_csv(frameworks))
    for spec in specs:
        check_size(spec, size or spec.default_size)
    eps = choose(split_csv(ep), list(EXECUTION_PROVIDERS), ["cpu"], "execution provider")
    levels = choose(split_csv(opt_level), list(OPT_LEVELS), ["disabled", "all"], "optimization level")
    if json_path is not None:
        check_writable(json_path)
    threads = threads or default_threads()
    console = make_console(stderr=json_path == STDOUT)
    if across_frameworks:
        if len(chosen) < 2:
            raise UserError("--across-frameworks needs at least two frameworks")
        results = run_agreement(specs, size, seeds, chosen, threads, console)
        from aibench_onnx.report.zoo_view import render_agreement

        render_agreement(results, console)
        settings = {"mode": "across-frameworks", "size": size, "seeds": seeds, "frameworks": chosen, "threads": threads}
        failed = any(pair.status in ("failed", "error") for r in results for pair in r.pairs)
        unavailable = False
    else:
        out_dir = output_dir(out, "parity")
        results = run_onnx_parity(specs, size, chosen, eps, levels, seeds, threads, out_dir,
                                   opset or DEFAULT_OPSET, console, tf32)
        from aibench_onnx.parity.zoo import FAILING_STATUSES
        from aibench_onnx.report.parity_view import render_parity

        render_parity(results, console)
        console.print(f"artifacts: {out_dir}")
        settings = {"mode": "onnx", "size": size, "seeds": seeds, "frameworks": chosen, "eps": eps,
                    "opt_levels": levels, "opset": opset or DEFAULT_OPSET, "threads": threads, "out": str(out_dir),
                    "tf32": tf32}
        cells = [cell for r in results for cell in r.cells]
        failed = any(cell.status in FAILING_STATUSES for cell in cells)
        unavailable = any(cell.status in ("ep_unavailable", "unavailable") for cell in cells)
    if json_path is not None:
        from aibench_onnx.env.collect import collect_environment

        write_json({"schema_version": PARITY_SCHEMA_VERSION, "command": "parity", "settings": settings,
                    "environment": collect_environment(), "results": [r.to_dict() for r in results]}, json_path)
    if failed:
        raise typer.Exit(int(ExitCode.CHECK_FAILED))
    if unavailable:
        raise typer.Exit(int(ExitCode.ENVIRONMENT))


@app.command()
@user_errors_exit
def bench(
    model_names: Optional[list[str]] = typer.Argument(None, metavar="[MODELS]...", help="Zoo models (default: all)."),
    frameworks: Optional[str] = typer.Option(None, "-f", "--frameworks", help="Comma-separated: torch,tf,jax."),
    runtime: Optional[str] = typer.Option(
        None, "--runtime", help="Comma-separated runtime kinds: torch-eager, torch-compile, tf-eager, tf-function, "
        "tf-xla, jax-jit, ort (default: all of the chosen frameworks' kinds and ort)."),
    ep: str = typer.Option("cpu", "--ep", help="ORT execution providers: cpu,cuda,tensorrt."),
    opt_level: str = typer.Option("disabled,all", "--opt-level", help="ORT graph optimization levels."),
    io_binding: str = typer.Option("on", "--io-binding", help="ORT IO binding: on, off or both."),
    cuda_graph: str = typer.Option("off", "--cuda-graph", help="ORT CUDA graph replay (cuda EP with IO "
                                   "binding): off, on or both."),
    tf32: bool = typer.Option(False, "--tf32", help=TF32_HELP),
    batch: str = typer.Option("1,8", "--batch", help="Batch sizes, comma-separated."),
    size: Optional[str] = typer.Option(None, "--size", help="Size variant (default: each model's default, small)."),
    device: str = typer.Option("cpu", "--device", help="Device for native runtimes: cpu or cuda."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="Intra-op threads for every runtime "
                                          "(default: physical cores)."),
    min_time: float = typer.Option(1.0, "--min-time", min=0.01, help="Minimum sampling seconds per batch."),
    max_time: float = typer.Option(10.0, "--max-time", min=0.05, help="Sampling time cap per batch."),
    timeout: float = typer.Option(900.0, "--timeout", min=1, help="Seconds before a runtime's process is killed."),
    opset: Optional[int] = typer.Option(None, "--opset", min=7, max=30, help="ONNX opset (default 18)."),
    out: Optional[str] = typer.Option(None, "-o", "--out", help="Artifact directory (default aibench-runs/bench-<time>)."),
    json_path: Optional[str] = typer.Option(None, "--json", metavar="PATH", help=JSON_HELP),
) -> None:
    """Time native eager and compiled runtimes and ONNX Runtime (per provider and optimization level) with one
    method, each in a fresh process, and split the differences into exporter, optimizer and runtime effects."""

    from aibench_onnx.frameworks import ALL_RUNTIMES, runtimes_of
    from aibench_onnx.timing.bench import bench_model, plan
    from aibench_onnx.exporters import DEFAULT_OPSET
    from aibench_onnx.jsonio import STDOUT, check_writable, write_json
    from aibench_onnx.ort.session import EXECUTION_PROVIDERS, OPT_LEVELS
    from aibench_onnx.zoo.registry import check_size, resolve_frameworks, resolve_models
    from aibench_onnx.report.bench_view import render_effects, render_latency

    specs = resolve_models(model_names)
    chosen = resolve_frameworks(split_csv(frameworks))
    runtimes = choose(split_csv(runtime), ALL_RUNTIMES, runtimes_of(chosen), "runtime")
    eps = choose(split_csv(ep), list(EXECUTION_PROVIDERS), ["cpu"], "execution provider")
    levels = choose(split_csv(opt_level), list(OPT_LEVELS), ["disabled", "all"], "optimization level")
    binding_modes = {"on": [True], "off": [False], "both": [True, False]}.get(io_binding)
    if binding_modes is None:
        raise UserError(f"unknown --io-binding {io_binding!r}; valid: on, off, both")
    graph_modes = {"off": (False,), "on": (True,), "both": (False, True)}.get(cuda_graph)
    if graph_modes is None:
        raise UserError(f"unknown --cuda-graph {cuda_graph!r}; valid: off, on, both")
    if True in graph_modes and ("cuda" not in eps or True not in binding_modes):
        raise UserError("--cuda-graph needs --ep cuda and IO binding (--io-binding on or both)")
    (device,) = choose([device], ["cpu", "cuda"], ["cpu"], "device")
    try:
        batches = sorted({int(b) for b in split_csv(batch) or []})
    except ValueError:
        raise UserError(f"--batch {batch!r}: expected comma-separated positive integers") from None
    if not batches or batches[0] < 1:
        raise UserError(f"--batch {batch!r}: expected comma-separated positive integers")
    if max_time < min_time:
        raise UserError(f"--max-time {max_time:g} is below --min-time {min_time:g}")
    for spec in specs:
        check_size(spec, size or spec.default_size)
    if json_path is not None:
        check_writable(json_path)
    out_dir = output_dir(out, "bench")
    threads = threads or default_threads()
    timing = {"min_time_s": min_time, "max_time_s": max_time}
    configs = plan(chosen, runtimes, eps, levels, binding_modes, graph_modes)
    console = make_console(stderr=json_path == STDOUT)
    results = []
    with progress_bar(console) as progress:
        task = progress.add_task("bench", total=len(specs) * len(configs))
        for spec in specs:
            def done(result, spec=spec):
                progress.advance(task)
                medians = ", ".join(f"b{b} {r['measurement']['summary']['median_s'] * 1e3:.3f} ms"
                                    for b, r in result.batches.items())
                progress.console.print(f"{spec.name} {result.config.label}: {result.status} {medians}")

            progress.update(task, description=f"{spec.name}")
            results.append(bench_model(spec, size or spec.default_size, configs, batches, threads, timing, out_dir,
                                       device, timeout, opset or DEFAULT_OPSET, on_done=done, tf32=tf32))
    for result in results:
        render_latency(result, console)
        render_effects(result, console)
    console.print(f"artifacts: {out_dir}")
    if json_path is not None:
        from aibench_onnx.env.collect import collect_environment

        write_json({"schema_version": 1, "command": "bench",
                    "settings": {"size": size, "frameworks": chosen, "runtimes": runtimes, "eps": eps,
                                 "opt_levels": levels, "io_binding": io_binding, "cuda_graph": cuda_graph,
                                 "tf32": tf32, "batches": batches,
                                 "device": device, "threads": threads, "timing": timing, "timeout_s": timeout},
                    "environment": collect_environment(), "results": [r.to_dict() for r in results]}, json_path)
    statuses = [r.status for bench_result in results for r in bench_result.results]
    if any(s in ("failed", "crashed", "timeout") for s in statuses):
        raise typer.Exit(int(ExitCode.CHECK_FAILED))
    if any(s in ("ep_unavailable", "unavailable") for s in statuses):
        raise typer.Exit(int(ExitCode.ENVIRONMENT))


def _register_run_commands() -> None:
    from aibench_onnx.cli import check as cli_check, runs as cli_run

    for name in ("run", "report", "compare"):
        app.command(name)(user_errors_exit(getattr(cli_run, name)))
    app.command("check")(user_errors_exit(cli_check.check))


_register_run_commands()


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
