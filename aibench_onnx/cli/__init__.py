"""The `aibench` command line: typer only — parse, call one core function, render. No ML framework, onnx or
onnxruntime at module level: each command imports what it needs inside its body, so `aibench --help` stays as
fast as a bare typer app. One module per command group; importing them registers the commands.
"""

from aibench_onnx.cli import bench, check, environment, explain, generate, noise, parity, runs, zoo  # noqa: F401 - registers
from aibench_onnx.cli.app import app

# `aibench --help` lists the commands in the order a user meets them, not in import order.
COMMAND_ORDER = ("env", "models", "export", "parity", "generate", "bench", "run", "report", "compare", "explain",
                 "noise", "check")
app.registered_commands.sort(key=lambda command: COMMAND_ORDER.index(command.name or command.callback.__name__))

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
