"""What competed with a measurement: a planted background load is detected, named with its share and
re-measured; the scheduler-quantum pattern is recognised in samples; advice when threads fill the CPUs."""

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from aibench_onnx.timing import contention
from aibench_onnx.timing.contention import Window, quantum_stalls, summarise, threads_advice
from aibench_onnx.timing.loop import TimingConfig, arm, measure
from aibench_onnx.timing.unit import Remeasure

SHORT = TimingConfig(min_time_s=0.3, max_time_s=0.5, warmup_s=0.05, warmup_max_s=0.2)
BUSY_LOOP = "import time\nend = time.time() + float(__import__('sys').argv[1])\nwhile time.time() < end: pass\n"

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/stat"), reason="contention is read from /proc (Linux)")


def spin(seconds: float):
    def run():
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass
    return run


class Prepared:
    def __init__(self, run):
        self.run, self.sync = run, lambda: None


@pytest.fixture
def background_load():
    """One busy process per CPU this process may use, for as long as the test runs."""
    cpus = min(len(os.sched_getaffinity(0)), 8)
    loads = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP, "60"]) for _ in range(cpus)]
    time.sleep(0.2)
    yield
    for load in loads:
        load.kill()
        load.wait()


def test_a_planted_background_load_is_detected_named_and_remeasured(background_load):
    remeasure = Remeasure()
    armed = arm(spin(50e-6), config=SHORT)
    kept, discarded = remeasure.slot(armed, 0.2, cycle=0)
    assert kept["contaminated"].startswith("other processes used ")
    # re-measured up to the bound, each discarded attempt with what contaminated it
    assert len(discarded) == Remeasure.MAX_REMEASURES
    assert all(d["cause"].startswith("other processes used") and d["cycle"] == 0 for d in discarded)
    # the measurement keeps only the kept slot's samples, and says what contaminated it
    measured = armed.measurement("slots")
    assert measured.slots == [kept] and measured.n == kept["last"] - kept["first"]
    assert measured.contention["contaminated"]
    assert measured.contention["other_share"] >= contention.OTHER_SHARE_LIMIT
    assert "contaminated: other processes used" in " ".join(measured.summary()["flags"])
    assert not measured.summary()["reliable"]
    # a load that outlasts three slots is persistent: the process stops spending time on re-measures
    for cycle in (1, 2):
        remeasure.slot(armed, 0.1, cycle)
    assert remeasure.persistent
    _, none = remeasure.slot(armed, 0.1, cycle=3)
    assert none == [] and remeasure.to_dict() == {"remeasured": 6, "persistent": True}


def test_a_measurement_records_its_windows_and_their_competition():
    measured = measure(spin(50e-6), config=SHORT)
    found = measured.contention
    assert found["windows"] >= 2 and len(found["window_other_shares"]) == found["windows"]
    assert 0.0 <= found["other_share"] <= 1.0 and found["involuntary_switches_per_s"] >= 0


def _window(other: float) -> Window:
    return Window(0, 10, 0.1, other, 0.0, 0, None, 1)


def test_a_quarter_of_contaminated_windows_contaminates_the_measurement():
    assert not summarise([_window(0.01)] * 8).contaminated
    burst = summarise([_window(0.01)] * 6 + [_window(0.6)] * 2)  # 14 % on average, but in bursts
    assert burst.contaminated and "over the limit in 2 of 8 windows" in burst.cause
    assert summarise([_window(0.5)] * 4).cause == "other processes used 50% of the CPUs"


def test_blocks_stalled_by_whole_time_slices_are_named():
    rng = np.random.default_rng(0)
    base = 20e-6 * (1 + 0.02 * rng.random(200))
    stalled = base.copy()
    stalled[::10] += 0.004 * rng.integers(1, 4, 20)  # every tenth call waited 1-3 slices of 4 ms
    assert "whole multiples of 4 ms" in quantum_stalls(list(stalled), 1)
    smeared = base.copy()
    smeared[::10] += rng.uniform(0.001, 0.012, 20)  # slow calls at any duration: not the pattern
    assert quantum_stalls(list(smeared), 1) == ""
    assert quantum_stalls(list(base), 1) == ""


def test_advice_when_timing_threads_fill_the_cpus_of_a_busy_machine():
    cpus = len(os.sched_getaffinity(0))
    busy, idle = _window(0.4), _window(0.0)
    advice = threads_advice(cpus, busy)
    assert f"{cpus} timing threads on {cpus} CPUs" in advice and "use fewer threads than CPUs" in advice
    assert threads_advice(cpus, idle) == ""
    if cpus > 1:
        assert threads_advice(cpus - 1, busy) == ""
