"""The typer application, its root options and the wrapper that turns a UserError into one line and an exit code."""

from __future__ import annotations

import functools
import re
import time
from typing import Callable, TypeVar

import typer

from aibench_onnx import __version__
from aibench_onnx.cli.common import make_console
from aibench_onnx.errors import ExitCode, UserError

app = typer.Typer(
    name="aibench",
    help="Check that exported ONNX graphs compute what PyTorch, TensorFlow and JAX compute, "
    "and time where the cost goes: graph or runtime.\n\n"
    "Exit codes: 0 ok, 1 a check failed, 2 bad input, 3 environment problem, 4 a runtime cannot run the graph, "
    "130 interrupted.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

F = TypeVar("F", bound=Callable)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def user_errors_exit(command: F) -> F:
    """Turn UserError into a one-line message and its exit code; Ctrl-C into exit 130."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        started = time.time()
        try:
            return command(*args, **kwargs)
        except UserError as exc:
            from rich.markup import escape  # a message quoting NAME:DTYPE[dims] is text, not markup

            exc = UserError(_ANSI.sub("", str(exc)), exc.code)  # a library's own colours (Keras bolds its reasons)
            _error_console().print(f"[bold red]error:[/bold red] {escape(str(exc))}", highlight=False, soft_wrap=True)
            _json_of_error(command.__name__, kwargs.get("json_path"), exc, started)
            raise typer.Exit(int(exc.code)) from None
        except KeyboardInterrupt:
            _error_console().print("interrupted; results already written are kept")
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None

    return wrapper  # type: ignore[return-value]


def _json_of_error(command: str, target: str | None, exc: UserError, started: float) -> None:
    """`--json` still says what failed when a command stops at bad input, unless the command wrote its own
    document before it stopped (that one is kept)."""
    from pathlib import Path

    from aibench_onnx.jsonio import STDOUT, write_json

    if target is None or (target != STDOUT and Path(target).is_file() and Path(target).stat().st_mtime >= started):
        return
    try:
        write_json({"schema_version": 1, "command": command, "status": "error", "reason": str(exc),
                    "exit_code": int(exc.code)}, target)
    except UserError:
        pass  # the --json path itself is what was wrong: the line above already says so


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
