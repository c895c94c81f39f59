"""The `aibench` command line: typer only — parse, call one core function, render. No ML framework, onnx or
onnxruntime at module level: each command imports what it needs inside its body, so `aibench --help` stays as
fast as a bare typer app. One module per command group; importing them registers the commands, in this order.
"""

from aibench_onnx.cli import bench, check, environment, parity, runs, zoo  # noqa: F401 - registers the commands
from aibench_onnx.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
