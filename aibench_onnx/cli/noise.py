"""`aibench noise`: an A/A on one configuration — the false-positive rate and the minimum detectable effect
this machine gives at the current settings, so a CI gate can be set to what it can resolve."""

from __future__ import annotations

from typing import Optional

import typer

from aibench_onnx.cli.app import app, user_errors_exit
from aibench_onnx.cli.common import (
    choose,
    default_threads,
    json_option,
    make_console,
    output_dir,
    progress_bar,
)
from aibench_onnx.errors import ExitCode, UserError


@app.command()
@user_errors_exit
def noise(
    model_name: str = typer.Argument("mlp", metavar="MODEL", help="Zoo model (default mlp)."),
    framework: str = typer.Option("torch", "-f", "--framework", help="The native framework, or whose graph ORT runs."),
    runtime: str = typer.Option("ort", "--runtime", help="Runtime kind: ort, torch-eager, jax-jit, ..."),
    ep: str = typer.Option("cpu", "--ep", help="ORT execution provider."),
    opt_level: str = typer.Option("all", "--opt-level", help="ORT graph optimization level."),
    batch: int = typer.Option(1, "--batch", min=1, help="Batch size."),
    device: str = typer.Option("cpu", "--device", help="Device for a native runtime: cpu or cuda."),
    size: Optional[str] = typer.Option(None, "--size", help="Size variant (default: the model's default)."),
    processes: int = typer.Option(12, "--processes", min=4, max=100, help="Fresh processes to measure it in."),
    repeats: int = typer.Option(3, "--repeats", min=1, help="Processes a side, as `run`/`bench --repeats`."),
    min_time: float = typer.Option(1.0, "--min-time", min=0.01, help="Minimum sampling seconds per process."),
    max_time: float = typer.Option(10.0, "--max-time", min=0.05, help="Sampling time cap per process."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="Intra-op threads."),
    timeout: float = typer.Option(900.0, "--timeout", min=1, help="Seconds before a process is killed."),
    out: Optional[str] = typer.Option(None, "-o", "--out", help="Artifact directory."),
    json_path: Optional[str] = json_option(),
) -> None:
    """Measure one configuration in many fresh processes and report how often two groups of R of them would be
    called different (false positives) and the smallest difference R processes a side can detect."""
    from rich.markup import escape

    from aibench_onnx.exporters import DEFAULT_OPSET
    from aibench_onnx.frameworks import resolve_frameworks
    from aibench_onnx.jsonio import STDOUT, check_writable, write_json
    from aibench_onnx.ort.session import EXECUTION_PROVIDERS, OPT_LEVELS
    from aibench_onnx.runtimes import ALL_RUNTIMES
    from aibench_onnx.status import Status
    from aibench_onnx.timing.bench import bench_models
    from aibench_onnx.timing.configs import plan
    from aibench_onnx.timing.noise import analyse
    from aibench_onnx.zoo.registry import check_size, get_spec

    spec = get_spec(model_name)
    (framework,) = resolve_frameworks([framework])
    (runtime,) = choose([runtime], ALL_RUNTIMES, ["ort"], "runtime")
    (ep,) = choose([ep], list(EXECUTION_PROVIDERS), ["cpu"], "execution provider")
    (opt_level,) = choose([opt_level], list(OPT_LEVELS), ["all"], "optimization level")
    (device,) = choose([device], ["cpu", "cuda"], ["cpu"], "device")
    check_size(spec, size or spec.default_size)
    if processes < 2 * repeats:
        raise UserError(f"--processes {processes} cannot be split into two groups of --repeats {repeats}")
    if max_time < min_time:
        raise UserError(f"--max-time {max_time:g} is below --min-time {min_time:g}")
    configs = plan([framework], [runtime], [ep], [opt_level], [True])
    if not configs:
        raise UserError(f"{runtime} is not a runtime of {framework}")
    if json_path is not None:
        check_writable(json_path)
    console = make_console(stderr=json_path == STDOUT)
    timing = {"min_time_s": min_time, "max_time_s": max_time}
    with progress_bar(console) as progress:
        task = progress.add_task(f"A/A: {configs[0].label}", total=processes)
        (bench,) = bench_models([_one_subject(spec, size)], configs, [batch], threads or default_threads(), timing,
                                output_dir(out, "noise"), device, timeout, DEFAULT_OPSET, processes,
                                on_result=lambda *_: (progress.advance(task), progress.refresh()))
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
