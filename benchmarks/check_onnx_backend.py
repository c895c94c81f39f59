"""`aibench check` (its Python API) on the operator-level models that ship inside the onnx package, in the
model-zoo layout with stored outputs (written by the ONNX project from PyTorch, not by us). Prints how many
pass, fail (with ORT's reason) or crash.

    python benchmarks/check_onnx_backend.py
"""

import collections
import time
from pathlib import Path
import onnx
from aibench_onnx.check import check_onnx
from aibench_onnx.errors import UserError
root = Path(onnx.__file__).parent / "backend/test/data"
dirs = sorted(d for kind in ("pytorch-converted", "pytorch-operator", "simple") for d in (root / kind).iterdir() if (d / "test_data_set_0").is_dir())
counts = collections.Counter(); failures = []
t = time.time()
for d in dirs:
    sets = sorted(str(s) for s in d.glob("test_data_set_*"))
    try:
        r = check_onnx(str(d / "model.onnx"), sets, ["cpu"], ["disabled", "all"])
        status = "passed" if r.passed else "failed"
        if not r.passed:
            failures.append((d.name, [(c.opt_level, c.reason[:150]) for c in r.cells if c.status != "passed"]))
    except UserError as e:
        status = "user_error"; failures.append((d.name, str(e)[:150]))
    except Exception as e:
        status = "crash"; failures.append((d.name, f"{type(e).__name__}: {e}"[:150]))
    counts[status] += 1
print(len(dirs), dict(counts), f"{time.time()-t:.0f}s")
for f in failures: print(f)
