"""Helpers shared by the CLI commands: option parsing, output directories, progress, run loops."""

from __future__ import annotations

from typing import Optional

from aibench_onnx.errors import UserError


def default_threads() -> int:
    import psutil

    return psutil.cpu_count(logical=False) or 1


def split_csv(value: Optional[str]) -> Optional[list[str]]:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def choose(values: Optional[list[str]], valid, default: list[str], what: str) -> list[str]:
    chosen = values or default
    unknown = [v for v in chosen if v not in valid]
    if unknown:
        raise UserError(f"unknown {what} {', '.join(map(repr, unknown))}; valid: {', '.join(valid)}")
    return list(dict.fromkeys(chosen))


def output_dir(out: Optional[str], default_name: str):
    """Create (or reuse) the artifact directory; an unwritable one is a one-line error, before any work."""
    import datetime as dt
    from pathlib import Path

    path = Path(out) if out else Path("aibench-runs") / f"{default_name}-{dt.datetime.now():%Y%m%d-%H%M%S}"
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".aibench-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UserError(f"output directory {path}: not writable ({exc.strerror or exc})") from None
    return path


PARITY_SCHEMA_VERSION = 1
PIPED_WIDTH = 160


def make_console(stderr: bool = False):
    """A rich console. Written to a pipe or a CI log with COLUMNS unset, rich would wrap tables at 80 columns
    and squeeze a failure's reason into a 5-character column; 160 keeps them readable."""
    import os
    import sys

    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    piped = not (hasattr(stream, "isatty") and stream.isatty())
    return Console(stderr=stderr, width=PIPED_WIDTH if piped and "COLUMNS" not in os.environ else None)


def progress_bar(console):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return Progress(*columns, console=console, transient=True)


def run_onnx_parity(specs, size, frameworks, eps, levels, seeds, threads, out_dir, opset, console,
                    tf32: bool = False) -> list:
    from aibench_onnx.parity.zoo import export_and_check
    from aibench_onnx.report.parity_view import STATUS_STYLE

    results = []
    with progress_bar(console) as progress:
        task = progress.add_task("ONNX parity", total=len(specs) * len(frameworks))
        for spec in specs:
            for framework in frameworks:
                progress.update(task, description=f"{spec.name} / {framework}")
                result = export_and_check(spec, size or spec.default_size, framework, eps, levels, seeds,
                                          threads, out_dir, opset, tf32)
                verdicts = ", ".join(f"{c.ep}/{c.opt_level} {STATUS_STYLE.get(c.status, c.status)}" for c in result.cells)
                progress.console.print(f"{spec.name} / {framework}: {verdicts}")
                results.append(result)
                progress.advance(task)
    return results


def run_agreement(specs, size, seeds, frameworks, threads, console) -> list:
    from aibench_onnx.parity.across import agree_across_frameworks

    results = []
    with progress_bar(console) as progress:
        task = progress.add_task("cross-framework parity", total=len(specs) * len(frameworks))
        for spec in specs:
            progress.update(task, description=f"{spec.name}")
            agreement = agree_across_frameworks(spec, size or spec.default_size, seeds, frameworks, threads,
                                                on_framework_done=lambda fw: progress.advance(task))
            for pair in agreement.pairs:
                mark = {"passed": "[green]pass[/green]"}.get(pair.status, f"[red]{pair.status}[/red]")
                progress.console.print(f"{spec.name}: {pair.framework} vs {pair.reference} {mark}")
            results.append(agreement)
    return results
