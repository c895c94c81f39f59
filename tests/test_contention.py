"""What competed with a measurement: a planted background load is detected, named with its share and
re-measured; the scheduler-quantum pattern is recognised in samples; advice when threads fill the CPUs."""

import os
import subprocess
import sys
import time

import numpy as np
import pytest
from helpers import spin
from onnx_graphs import linear_graph, save

from aibench_onnx.keys import RuntimeConfig
from aibench_onnx.measuring import contention
from aibench_onnx.measuring.contention import Window, combined, quantum_stalls, summarise, threads_advice
from aibench_onnx.measuring.loop import TimingConfig, measure
from aibench_onnx.subjects import Subject
from aibench_onnx.timing.schedule import MAX_REDOS, PERSISTENT_AFTER, TimingItem, TimingSettings, run_items

SHORT = TimingConfig(min_time_s=0.3, max_time_s=0.5, warmup_s=0.05, warmup_max_s=0.2)
BUSY_LOOP = "import time\nend = time.time() + float(__import__('sys').argv[1])\nwhile time.time() < end: pass\n"

# timing: the competition it reads would count a parallel test as a neighbour (README: run alone, after the rest)
pytestmark = [pytest.mark.timing,
              pytest.mark.skipif(not os.path.exists("/proc/stat"), reason="contention is read from /proc (Linux)")]


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


def test_a_planted_background_load_is_detected_named_and_remeasured(background_load, tmp_path):
    """A real interleaved round (two ONNX Runtime configurations in a live timing process) beside one busy
    process per CPU: every cycle is contaminated, measured again up to the bound, and the records say why."""
    graph = save(linear_graph(np.eye(16, dtype=np.float32), np.zeros(16, np.float32)), tmp_path / "mlp.onnx")
    subject = Subject.of_zoo("mlp", "tiny")
    items = [TimingItem(f"mlp/{level}/r0", subject, RuntimeConfig.graph_runtime("ort", "torch", "cpu", level), 0, graph)
             for level in ("disabled", "all")]
    settings = TimingSettings(len(os.sched_getaffinity(0)), (1,), TimingConfig(min_time_s=0.25, slot_s=0.05,
                                                                                warmup_s=0.05, warmup_max_s=0.2))
    results = {}
    run_items(items, settings, 120, lambda item, result, process: results.update({item.job_id: result}))
    assert set(results) == {item.job_id for item in items}
    for result in results.values():
        assert result["status"] == "ok", result.get("reason")
        cycles = result["cycles"]
        assert len(cycles) == settings.timing.cycles and all(c["contaminated"] for c in cycles)
        assert cycles[0]["redone"] == MAX_REDOS and cycles[0]["cause"].startswith("other processes used ")
        # contention that outlasts PERSISTENT_AFTER cycles stops the redos: the round's time stays bounded
        assert all(c["redone"] == 0 for c in cycles[PERSISTENT_AFTER:])
        entry = result["batches"]["1"]
        assert len(entry["remeasured"]) == MAX_REDOS * PERSISTENT_AFTER
        assert all(r["cause"].startswith("other processes used") for r in entry["remeasured"])
        measured = entry["measurement"]
        assert [s["cycle"] for s in measured["slots"]] == list(range(settings.timing.cycles))
        assert measured["contention"]["contaminated"]
        assert measured["contention"]["other_share"] >= contention.OTHER_SHARE_LIMIT
        flags = measured["summary"]["flags"]
        every = f"{settings.timing.cycles} of {settings.timing.cycles} cycles"
        assert any(f.startswith(f"contaminated: {every}: other processes used") for f in flags), flags
        assert not measured["summary"]["reliable"]


def test_a_measurement_records_its_windows_and_their_competition():
    measured = measure(spin(50e-6), config=SHORT)
    found = measured.contention
    assert found["windows"] >= 2
    assert 0.0 <= found["other_share"] <= 1.0 and found["involuntary_switches_per_s"] >= 0


def _window(other: float, pressure: float | None = None, seconds: float = 0.1) -> Window:
    return Window(0, 10, seconds, 2 * seconds, other * 2 * seconds, 0.0, 0,
                  None if pressure is None else pressure * seconds, 1)


def test_short_windows_are_judged_only_together():
    # tick-sampled readings of short slots scatter around the truth, below 0 too: their sum is unbiased
    noisy = [_window(0.25), _window(-0.2), _window(0.15), _window(-0.15)]
    assert not summarise(noisy).contaminated and summarise(noisy).other_share < 0.02
    assert summarise([_window(0.5)] * 4).cause == "other processes used 50% of the CPUs"
    # other processes on capacity nobody of ours waited for compete with nobody
    assert not combined([_window(0.5, pressure=0.0)]).contaminated
    assert combined([_window(0.5, pressure=0.3)]).contaminated


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


def test_a_run_on_a_busy_machine_is_told_before_it_times(background_load):
    from rich.console import Console

    from aibench_onnx.cli.common import warn_if_busy

    console = Console(record=True, width=300)
    cpus = len(os.sched_getaffinity(0))
    warn_if_busy(console, cpus)
    assert f"{cpus} timing threads on {cpus} CPUs while other processes use" in console.export_text()
