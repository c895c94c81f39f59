"""`aibench env`: what this machine can really run."""

from __future__ import annotations


import typer

from aibench_onnx.cli.app import app, user_errors_exit
from aibench_onnx.cli import options
from aibench_onnx.cli.common import render_and_write


@app.command()
@user_errors_exit
def env(
    json_path: options.Json = None,
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

    render_and_write(collect_environment(with_frameworks=frameworks), json_path, render_environment)
