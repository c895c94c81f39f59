"""aibench's timing loop against a bare `perf_counter` loop on the same session, in one process (issue 28
item 5: is the headline estimator biased?). Between processes this VM moves a 2-ms model by ±10 %, so
headline_vs_loop.py's fresh processes need hundreds of rounds to resolve 1 %; here the two loops alternate
0.1-s slots on one session in a shuffled order, the way aibench's own slots run (re-warm, blocks, the median
of block means) against the obvious loop (the median of per-call times), and each pair gives a ratio.
    python benchmarks/estimator_vs_loop.py model.onnx --input "x:float32[1,3,64,64]" --pairs 40 --threads 2
"""

from __future__ import annotations

import argparse
import math
import random
import time

import numpy as np
from headline_vs_loop import paired_ratio  # this folder is on sys.path when a benchmark runs as a script

from aibench_onnx.measuring.loop import TimingConfig, arm
from aibench_onnx.ort.session import set_threads, share_one_thread_pool


def bare_slot(run, seconds: float) -> float:
    times, stop = [], time.perf_counter() + seconds
    while time.perf_counter() < stop:
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main() -> None:
    import onnxruntime as ort

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--input", required=True, help="NAME:float32[d1,d2,...] (one float input)")
    parser.add_argument("--pairs", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--own-pool", action="store_true", help="the session's own thread pool, not aibench's shared one")
    args = parser.parse_args()
    name, _, rest = args.input.partition(":")
    shape = [int(d) for d in rest[rest.index("[") + 1:rest.index("]")].split(",")]
    options = ort.SessionOptions()
    if args.own_pool:
        options.intra_op_num_threads = args.threads
    else:
        share_one_thread_pool(args.threads)
        set_threads(options, args.threads)
    session = ort.InferenceSession(args.file, options, providers=["CPUExecutionProvider"])
    feed = {name: np.random.default_rng(0).standard_normal(shape).astype(np.float32)}

    def run():
        return session.run(None, feed)

    config = TimingConfig()
    armed = arm(run, config=config)
    rng = random.Random(0)
    logs = []
    for cycle in range(args.pairs):
        sides = ["aibench", "bare"]
        rng.shuffle(sides)
        found = {side: armed.sample_slot(config.slot_s, cycle)[0].median_s if side == "aibench"
                 else bare_slot(run, config.slot_s) for side in sides}
        logs.append(math.log(found["aibench"] / found["bare"]))
    print(f"block size {armed.block}; aibench / bare loop, same session: {paired_ratio(logs)}, "
          f"{len(logs)} pairs of 0.1-s slots")


if __name__ == "__main__":
    main()
