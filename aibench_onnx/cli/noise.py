"""`aibench noise`: an A/A on one configuration — the false-positive rate and the minimum detectable effect
this machine gives at the current settings, so a CI gate can be set to what it can resolve."""

from __future__ import annotations


import typer

from aibench_onnx.cli import options
from aibench_onnx.cli.app import app, user_errors_exit
from aibench_onnx.cli.common import (
    choose,
    default_threads,
    make_console,
    output_dir,
    parse_one,
    parse_threads,
    progress_bar,
)
from aibench_onnx.errors import ExitCode, UserError


@app.command()
@user_errors_exit
def noise(
    model_name: str = typer.Argument("mlp", metavar="MODEL", help="Zoo model (default mlp)."),
    framework: options.Frameworks = "torch",
    size: options.Size = None,
    runtime: options.Runtime = None,
    ep: options.Ep = "cpu",
    opt_level: options.OptLevel = "all",
    device: options.Device = "cpu",
    threads: options.Threads = None,
    batch: options.Batch = "1",
    processes: int = typer.Option(12, "--processes", min=4, max=100, rich_help_panel=options.TIMING,
                                  help="Fresh processes to measure it in."),
    repeats: options.Repeats = 3,
    min_time: options.MinTime = 1.0,
    timeout: options.Timeout = 900.0,
    out: options.Out = None,
    json_path: options.Json = None,
) -> None:
    """Measure one configuration in many fresh processes and report how often two groups of R of them would be
    called different (false positives) and the smallest difference R processes a side can detect."""
    from rich.markup import escape

    from aibench_onnx.exporters import DEFAULT_OPSET
    from aibench_onnx.frameworks import resolve_frameworks
    from aibench_onnx.jsonio import STDOUT, check_writable, write_json
    from aibench_onnx.ort.session import EXECUTION_PROVIDERS, OPT_LEVELS
    from aibench_onnx.runtimes import ALL_RUNTIMES, REFERENCE
    from aibench_onnx.status import Status
    from aibench_onnx.runs.bench import bench_run, refuse_earlier_run
    from aibench_onnx.timing.configs import plan
    from aibench_onnx.timing.noise import analyse
    from aibench_onnx.zoo.registry import check_size, get_spec

    spec = get_spec(model_name)
    (framework,) = resolve_frameworks([framework])
    (runtime,) = choose([runtime or REFERENCE], ALL_RUNTIMES, [REFERENCE], "runtime")
    (ep,) = choose([ep], list(EXECUTION_PROVIDERS), ["cpu"], "execution provider")
    (opt_level,) = choose([opt_level], list(OPT_LEVELS), ["all"], "optimization level")
    (device,) = choose([device], ["cpu", "cuda"], ["cpu"], "device")
    check_size(spec, size or spec.default_size)
    if processes < 2 * repeats:
        raise UserError(f"--processes {processes} cannot be split into two groups of --repeats {repeats}")
    batch = parse_one(batch, "--batch")
    threads = parse_threads(threads)
    configs = plan([framework], [runtime], [ep], [opt_level], [True])
    if not configs:
        raise UserError(f"{runtime} is not a runtime of {framework}")
    if json_path is not None:
        check_writable(json_path)
    run_dir = output_dir(out, "noise")  # the processes' run (runs/bench.py), refused before any work if taken
    refuse_earlier_run(run_dir)
    console = make_console(stderr=json_path == STDOUT)
    timing = {"min_time_s": min_time}
    with progress_bar(console) as progress:
        task = progress.add_task(f"A/A: {configs[0].label}", total=processes)
        (bench,) = bench_run([_one_subject(spec, size)], configs, [batch], threads or default_threads(), timing,
                             run_dir, device, timeout, DEFAULT_OPSET, processes,
                             on_result=lambda *_: (progress.advance(task), progress.refresh()), command="noise")
    result = bench.results[0]
    by_process = result.samples_by_round().get(batch, {})
    if result.status != Status.OK or len(by_process) < 2 * repeats:
        raise UserError(f"{result.config.label}: only {len(by_process)} processes measured it "
                        f"({result.status}: {result.reason})", ExitCode.CHECK_FAILED)
    report = analyse(by_process, repeats)
    medians = ", ".join(f"{m * 1e3:.4g}" for m in report.process_medians_s)
    console.print(f"[bold]{escape(spec.name)} {escape(result.config.label)} batch {batch}[/bold]: "
                  f"{report.processes} processes, medians (ms) {medians}", highlight=False)
    console.print(f"between processes: {100 * report.between_cv:.1f}% (sd of log medians); inside one process: "
                  f"IQR {100 * report.within_iqr:.1f}% of the median", highlight=False)
    console.print(f"false positives, {repeats} processes a side (as compare counts them): "
                  f"{100 * report.false_positive_rate:.1f}% of {report.splits} A/A splits; with one process a side "
                  f"and within-process CIs: {100 * report.false_positive_rate_one_process:.0f}%", highlight=False)
    console.print("minimum detectable effect: " + ", ".join(f"R={r}: ±{100 * m:.1f}%"
                                                            for r, m in report.mde_by_repeats.items()), highlight=False)
    console.print(f"[bold]a gate this machine resolves at R={repeats}: --fail-on {report.suggested_gate}[/bold]",
                  highlight=False)
    if json_path is not None:
        write_json({"schema_version": 1, "command": "noise", "model": spec.name, "config": result.config.label,
                    "batch": batch, "device": device, "timing": timing, **report.to_dict()}, json_path)


def _one_subject(spec, size: str | None):
    """The zoo model; a decoder by one phase, its decode step after 16 cached tokens (time per output token)."""
    from aibench_onnx.subjects import Subject

    if spec.decoder is not None:
        return next(p for p in Subject.decoder_phases(spec.name, size, [16], 2) if p.phase["kind"] == "decode")
    return Subject.of_zoo(spec.name, size)
