"""An emulated neighbour for timing under load: one process per `--cpus` that alternates busy and idle phases of
random length (0.05-0.5 s each, seeded), at the given nice level — what a laptop's browser or a cloud VM's
other tenant does to a benchmark.

    python benchmarks/neighbour.py --nice 0 --cpus 1 --seconds 600 &
    aibench run --quick            # then compare its contamination and verdicts with a quiet run
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import time


def _alternate(seed: int, seconds: float, nice: int) -> None:
    os.nice(nice)
    rng = random.Random(seed)
    stop = time.time() + seconds
    while time.time() < stop:
        busy_until = time.time() + rng.uniform(0.05, 0.5)
        while time.time() < busy_until:
            pass
        time.sleep(rng.uniform(0.05, 0.5))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nice", type=int, default=0)
    parser.add_argument("--cpus", type=int, default=1, help="busy/idle processes to run side by side")
    parser.add_argument("--seconds", type=float, default=600.0)
    args = parser.parse_args()
    workers = [multiprocessing.Process(target=_alternate, args=(seed, args.seconds, args.nice))
               for seed in range(args.cpus)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


if __name__ == "__main__":
    main()
