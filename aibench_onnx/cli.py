"""The `aibench` command line. Parses, calls the core, renders; imports no ML framework at module level.

Each command imports what it needs inside its body, so `aibench --help` stays as fast as a bare typer app.
"""

from __future__ import annotations

import functools
from typing import Callable, Optional, TypeVar

import typer

from aibench_onnx import __version__
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
    from rich.console import Console

    return Console(stderr=True)


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
    from rich.console import Console

    from aibench_onnx.env import collect_environment
    from aibench_onnx.jsonio import STDOUT, check_writable, write_json

    if json_path is not None:
        check_writable(json_path)
    document = collect_environment(with_frameworks=frameworks)
    if json_path != STDOUT:
        from aibench_onnx.report.env_view import render_environment

        render_environment(document, Console())
    if json_path is not None:
        write_json(document, json_path)


def _default_threads() -> int:
    import psutil

    return psutil.cpu_count(logical=False) or 1


@app.command()
@user_errors_exit
def models(
    json_path: Optional[str] = typer.Option(None, "--json", metavar="PATH", help=JSON_HELP),
) -> None:
    """List the model zoo: sizes, inputs, parameter counts, frameworks. Imports no framework."""
    from rich.console import Console

    from aibench_onnx.jsonio import STDOUT, check_writable, write_json
    from aibench_onnx.zoo_listing import zoo_document

    if json_path is not None:
        check_writable(json_path)
    document = zoo_document()
    if json_path != STDOUT:
        from aibench_onnx.report.zoo_view import render_zoo

        render_zoo(document, Console())
    if json_path is not None:
        write_json(document, json_path)


@app.command()
@user_errors_exit
def parity(
    model_names: Optional[list[str]] = typer.Argument(None, metavar="[MODELS]...", help="Zoo models (default: all)."),
    across_frameworks: bool = typer.Option(
        False, "--across-frameworks",
        help="Compare the native frameworks with each other (TF and JAX against PyTorch)."),
    frameworks: Optional[str] = typer.Option(None, "-f", "--frameworks", help="Comma-separated: torch,tf,jax."),
    size: Optional[str] = typer.Option(None, "--size", help="Size variant (default: each model's default, small)."),
    seeds: int = typer.Option(3, "--seeds", min=1, max=100, help="Random input sets per model."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="Intra-op threads (default: physical cores)."),
    json_path: Optional[str] = typer.Option(None, "--json", metavar="PATH", help=JSON_HELP),
) -> None:
    """Check numerical parity. With --across-frameworks: the same zoo model in PyTorch, TensorFlow and JAX,
    each in its own process, on byte-identical inputs. Exit 1 if any pair disagrees."""
    from rich.console import Console

    from aibench_onnx.jsonio import STDOUT, check_writable, write_json
    from aibench_onnx.registry import check_size, resolve_frameworks, resolve_models

    if not across_frameworks:
        raise UserError("ONNX parity (export, then ONNX Runtime vs native) is not available yet; "
                        "use --across-frameworks to compare the native frameworks")
    specs = resolve_models(model_names)
    chosen = resolve_frameworks(frameworks.split(",") if frameworks else None)
    if len(chosen) < 2:
        raise UserError("--across-frameworks needs at least two frameworks")
    for spec in specs:
        check_size(spec, size or spec.default_size)
    if json_path is not None:
        check_writable(json_path)
    threads = threads or _default_threads()
    console = Console(stderr=json_path == STDOUT)
    results = _run_agreement(specs, size, seeds, chosen, threads, console)

    from aibench_onnx.report.zoo_view import render_agreement

    render_agreement(results, console)
    if json_path is not None:
        from aibench_onnx.env import collect_environment

        write_json({"schema_version": 1, "command": "parity --across-frameworks",
                    "settings": {"size": size, "seeds": seeds, "frameworks": chosen, "threads": threads},
                    "environment": collect_environment(), "results": [r.to_dict() for r in results]}, json_path)
    if any(pair.status in ("failed", "error") for r in results for pair in r.pairs):
        raise typer.Exit(int(ExitCode.CHECK_FAILED))


def _run_agreement(specs, size, seeds, frameworks, threads, console) -> list:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from aibench_onnx.across import agree_across_frameworks

    results = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
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


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
