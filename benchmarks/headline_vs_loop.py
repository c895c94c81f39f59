"""aibench's headline latency against the obvious loop a user would write, on the same ONNX file and threads
(issue 28 item 5: the headline within ±1 % of a bare loop's).

Each round, in a shuffled order: `aibench bench FILE --repeats 1` (ORT CPU, level all, plain `session.run` —
no IO binding, as the bare loop) and a fresh process timing `session.run` in a bare `perf_counter` loop for
`--seconds`. Prints each side's median over rounds, its spread between processes, and the ratio.

    python benchmarks/headline_vs_loop.py model.onnx --input "x:float32[1,3,224,224]" --rounds 10 --threads 2
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from scipy.stats import t as student_t

BARE_LOOP = r"""
import sys, time, numpy as np, onnxruntime as ort
path, threads, seconds, shapes = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
options = ort.SessionOptions()
options.intra_op_num_threads = threads
session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
rng = np.random.default_rng(0)
feed = {}
for spec in shapes:
    name, _, dims = spec.partition("=")
    feed[name] = rng.standard_normal([int(d) for d in dims.split("x")]).astype(np.float32)
for _ in range(10):
    session.run(None, feed)
times, stop = [], time.perf_counter() + seconds
while time.perf_counter() < stop:
    t0 = time.perf_counter()
    session.run(None, feed)
    times.append(time.perf_counter() - t0)
print(float(np.median(times)))
"""


def aibench_median(path: str, decl: str, threads: int, workdir: Path) -> float:
    target = workdir / f"bench-{random.random():.6f}.json"
    aibench = str(Path(sys.executable).with_name("aibench"))
    subprocess.run([aibench, "bench", path, "--input", decl, "--opt-level", "all",
                    "--io-binding", "off", "--threads", str(threads), "--repeats", "1", "-o", str(workdir / "out"),
                    "--json", str(target)], check=True, capture_output=True)
    (result,) = json.loads(target.read_text())["results"][0]["results"]
    (batch,) = result["summary"].values()  # the one batch: its median across processes (here one)
    return batch["median_s"]


def bare_median(path: str, decl: str, threads: int, seconds: float) -> float:
    name, _, rest = decl.partition(":")
    dims = rest[rest.index("[") + 1:rest.index("]")].replace(",", "x")
    found = subprocess.run([sys.executable, "-c", BARE_LOOP, path, str(threads), str(seconds), f"{name}={dims}"],
                           check=True, capture_output=True, text=True)
    return float(found.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--input", required=True, help="NAME:float32[d1,d2,...] (one float input)")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=3.0, help="the bare loop's sampling per process")
    args = parser.parse_args()
    medians: dict[str, list[float]] = {"aibench": [], "bare loop": []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            sides = list(medians)
            random.shuffle(sides)
            for side in sides:
                medians[side].append(aibench_median(args.file, args.input, args.threads, Path(tmp)) if side == "aibench"
                                     else bare_median(args.file, args.input, args.threads, args.seconds))
    for side, values in medians.items():
        spread = (max(values) - min(values)) / statistics.median(values)
        print(f"{side}: median {statistics.median(values) * 1e3:.3f} ms over {len(values)} processes "
              f"(spread {100 * spread:.1f}%): {', '.join(f'{v * 1e3:.3f}' for v in values)}")
    # paired by round (the two sides of a round ran back to back)
    logs = [math.log(a / b) for a, b in zip(medians["aibench"], medians["bare loop"])]
    print(f"aibench / bare loop: {paired_ratio(logs)}, paired over {len(logs)} rounds")


def paired_ratio(logs: list[float]) -> str:
    """The geometric-mean ratio of paired log ratios with its t interval (95 %), as printed."""
    mean = statistics.fmean(logs)
    half = (student_t.ppf(0.975, len(logs) - 1) * statistics.stdev(logs) / math.sqrt(len(logs))
            if len(logs) > 1 else float("inf"))
    return f"{math.exp(mean):.4f} (95% CI {math.exp(mean - half):.4f}-{math.exp(mean + half):.4f})"


if __name__ == "__main__":
    main()
