"""`aibench check` (its Python API) on the operator-level models that ship inside the onnx package, in the
model-zoo layout with stored outputs (written by the ONNX project from PyTorch, not by us). Prints how many
pass, fail (with ORT's reason) or crash.

    python benchmarks/check_onnx_backend.py
"""

from __future__ import annotations

import collections
import time
from pathlib import Path

import onnx

from aibench_onnx.errors import UserError
from aibench_onnx.parity.check import check_onnx


def main() -> None:
    root = Path(onnx.__file__).parent / "backend/test/data"
    dirs = sorted(d for kind in ("pytorch-converted", "pytorch-operator", "simple") for d in (root / kind).iterdir()
                  if (d / "test_data_set_0").is_dir())
    counts: collections.Counter = collections.Counter()
    reasons: collections.Counter = collections.Counter()
    started = time.time()
    for directory in dirs:
        sets = sorted(str(s) for s in directory.glob("test_data_set_*"))
        try:
            result = check_onnx(str(directory / "model.onnx"), sets, ["cpu"], ["disabled", "all"])
            status = "passed" if result.passed else "failed"
            for cell in result.cells:
                if cell.status != "passed":
                    reasons[cell.reason.split(" node ")[0][-90:]] += 1
        except UserError as exc:
            status = "user_error"
            reasons[str(exc)[:90]] += 1
        counts[status] += 1
    print(f"{len(dirs)} models: {dict(counts)} in {time.time() - started:.0f} s")
    for reason, count in reasons.most_common(10):
        print(f"  {count:3d} x {reason}")


if __name__ == "__main__":
    main()
