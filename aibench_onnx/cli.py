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


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
