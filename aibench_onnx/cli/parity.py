"""`aibench parity`: ONNX Runtime against the native frameworks (or the frameworks against each other)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from aibench_onnx.cli import options
from aibench_onnx.cli.app import app, user_errors_exit
from aibench_onnx.cli.common import (
    PARITY_SCHEMA_VERSION,
    chosen_graphs,
    default_threads,
    make_console,
    output_dir,
    parse_eps,
    parse_error_stats,
    parse_graph_runtimes,
    parse_levels,
    parse_precisions,
    parse_threads,
    progress_bar,
)
from aibench_onnx.errors import UserError
from aibench_onnx.status import exit_code


@app.command()
@user_errors_exit
def parity(
    model_names: Optional[list[str]] = typer.Argument(None, metavar="[MODELS]...", help="Zoo models (default: all)."),
    frameworks: options.Frameworks = None,
    exporter: options.Exporter = None,
    size: options.Size = None,
    opset: options.Opset = None,
    seeds: int = typer.Option(3, "--seeds", min=1, max=100, rich_help_panel=options.INPUTS,
                              help="Random input sets (edge cases come on top)."),
    across_frameworks: bool = typer.Option(
        False, "--across-frameworks",
        help="Instead: compare the native frameworks with each other (TF and JAX against PyTorch)."),
    runtime: options.Runtime = None,
    ep: options.Ep = "cpu",
    opt_level: options.OptLevel = "disabled,all",
    tf32: options.Tf32 = False,
    precision: options.Precision = "fp32",
    error_stat: options.ErrorStat = None,
    threads: options.Threads = None,
    out: options.Out = None,
    json_path: options.Json = None,
    repro: options.Repro = None,
) -> None:
    """Check numerical parity: each zoo model exported with its framework's exporter and run in ONNX Runtime
    (per provider and optimization level) against the framework's own outputs. Exit 0 all passed, 1 a
    check failed, 3 a requested provider or framework is unavailable."""

    from aibench_onnx.exporters import DEFAULT_OPSET
    from aibench_onnx.jsonio import STDOUT, check_writable, check_writable_dir, write_json
    from aibench_onnx.zoo.registry import check_size, resolve_models

    specs = resolve_models(model_names)
    chosen = chosen_graphs(frameworks, exporter)
    for spec in specs:
        check_size(spec, size or spec.default_size)
    eps = parse_eps(ep)
    levels = parse_levels(opt_level)

    precisions = parse_precisions(precision)
    runtimes = parse_graph_runtimes(runtime)
    error_stats = parse_error_stats(error_stat)
    if across_frameworks and exporter:
        raise UserError("--exporter chooses exported graphs; --across-frameworks compares native runs")
    if across_frameworks and precisions != ("fp32",):
        raise UserError("--precision judges exported graphs; --across-frameworks compares native runs")
    if json_path is not None:
        check_writable(json_path)
    if repro is not None:
        if across_frameworks:
            raise UserError("--repro reduces a divergence of an exported graph; --across-frameworks compares native "
                            "runs")
        check_writable_dir(repro, "--repro")
    threads = parse_threads(threads) or default_threads()
    console = make_console(stderr=json_path == STDOUT)
    if across_frameworks:
        if len(chosen) < 2:
            raise UserError("--across-frameworks needs at least two frameworks")
        results = run_agreement(specs, size, seeds, chosen, threads, console)
        from aibench_onnx.report.zoo_view import render_agreement

        render_agreement(results, console)
        settings = {"mode": "across-frameworks", "size": size, "seeds": seeds, "frameworks": chosen, "threads": threads}
        statuses = [pair.status for r in results for pair in r.pairs]
    else:
        out_dir = output_dir(out, "parity")
        results = run_onnx_parity(specs, size, chosen, eps, levels, seeds, threads, out_dir,
                                   opset or DEFAULT_OPSET, console, tf32, precisions, error_stats, runtimes, repro)
        from aibench_onnx.report.parity_view import render_parity

        render_parity(results, console)
        console.print(f"artifacts: {out_dir}")
        settings = {"mode": "onnx", "size": size, "seeds": seeds, "frameworks": chosen, "eps": eps,
                    "opt_levels": levels, "opset": opset or DEFAULT_OPSET, "threads": threads, "out": str(out_dir),
                    "tf32": tf32, "precisions": list(precisions), "error_stats": error_stats,
                    "runtimes": list(runtimes), "repro": repro}
        statuses = [cell.status for r in results for cell in r.cells]
    if json_path is not None:
        from aibench_onnx.env.collect import collect_environment

        write_json({"schema_version": PARITY_SCHEMA_VERSION, "command": "parity", "settings": settings,
                    "environment": collect_environment(), "results": [r.to_dict() for r in results]}, json_path)
    raise typer.Exit(int(exit_code(statuses)))


def run_onnx_parity(specs, size, frameworks, eps, levels, seeds, threads, out_dir, opset, console,
                    tf32: bool = False, precisions: tuple[str, ...] = ("fp32",),
                    error_stats: dict[str, str] | None = None, runtimes: tuple[str, ...] | None = None,
                    repro: str | None = None) -> list:
    from aibench_onnx.parity.zoo import export_and_check_models
    from aibench_onnx.report.styles import status_markup
    from aibench_onnx.runtimes import REFERENCE, is_reference

    with progress_bar(console) as progress:
        task = progress.add_task("ONNX parity", total=len(specs) * len(frameworks))

        def show(result) -> None:
            verdicts = ", ".join(f"{'' if c.precision == 'fp32' else c.precision + ' '}"
                                 f"{'' if is_reference(c.runtime) else c.runtime + ' '}{c.ep}/{c.opt_level} "
                                 f"{status_markup(c.status)}" for c in result.cells)
            progress.console.print(f"{result.model} / {result.framework}: {verdicts}")
            progress.advance(task)
            progress.refresh()

        return export_and_check_models(specs, size, frameworks, eps, levels, seeds, threads, out_dir, opset, tf32,
                                       precisions, error_stats, runtimes or (REFERENCE,), on_result=show,
                                       repro_dir=Path(repro).resolve() if repro else None)


def run_agreement(specs, size, seeds, frameworks, threads, console) -> list:
    from aibench_onnx.parity.across import agree_across_frameworks_many
    from aibench_onnx.report.styles import status_markup

    with progress_bar(console) as progress:
        task = progress.add_task("cross-framework parity", total=len(frameworks))
        results = agree_across_frameworks_many(
            specs, size, seeds, frameworks, threads,
            on_framework_done=lambda fw: (progress.advance(task), progress.refresh()))
        for agreement in results:
            for pair in agreement.pairs:
                progress.console.print(f"{agreement.model}: {pair.framework} vs {pair.reference} "
                                       f"{status_markup(pair.status)}")
    return results
