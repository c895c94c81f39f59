"""Build, run and export a user's framework model in a process of its own:
`python -m aibench_onnx.workers.user_model REQUEST.json OUT.json` (this runs the user's code)."""

from __future__ import annotations

import sys


def run_request(request: dict) -> dict:
    sys.path.insert(0, request["cwd"])  # `pkg.module` resolves as it would in the user's shell
    from aibench_onnx.errors import UserError
    from aibench_onnx.frameworks.user_model import InputDecl, concrete_inputs, export_user_model, load_factory_model

    try:
        model = load_factory_model(request["target"], request["framework"])
        arrays = concrete_inputs([InputDecl(**d) for d in request["inputs"]], request["dims"])
    except UserError as exc:
        return {"status": "user_error", "reason": str(exc)}
    # Anything the user's model raises while running or exporting is a failed result (worker_main).
    return {"status": "ok", "export": export_user_model(model, request["framework"], arrays, request["out_dir"],
                                                         request["opset"])}


def main(argv: list[str]) -> int:
    from aibench_onnx.workers import worker_main

    return worker_main(argv, "aibench_onnx.workers.user_model", run_request, traceback_limit=8)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
