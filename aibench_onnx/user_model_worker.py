"""Build, run and export a user's framework model in a process of its own:
`python -m aibench_onnx.user_model_worker REQUEST.json OUT.json` (this runs the user's code)."""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path


def main(argv: list[str]) -> int:
    request = json.loads(Path(argv[1]).read_text())
    sys.path.insert(0, request["cwd"])  # `pkg.module` resolves as it would in the user's shell
    try:
        from aibench_onnx.errors import UserError
        from aibench_onnx.user_models import InputDecl, concrete_inputs, export_user_model, load_factory_model

        try:
            model = load_factory_model(request["target"], request["framework"])
            arrays = concrete_inputs([InputDecl(**d) for d in request["inputs"]], request["dims"])
            document = {"status": "ok", "export": export_user_model(model, request["framework"], arrays,
                                                                     request["out_dir"], request["opset"])}
        except UserError as exc:
            document = {"status": "user_error", "reason": str(exc)}
    except Exception as exc:  # noqa: BLE001 - the user's model failed to run: a result, not a crash
        document = {"status": "failed", "reason": f"{type(exc).__name__}: {exc}".splitlines()[0][:500],
                    "traceback": traceback.format_exc(limit=8)}
    Path(argv[2]).write_text(json.dumps(document, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
