"""Statistics that count processes, and replicates in interleaved rounds. Properties on simulated processes
whose speed is drawn per process (steady inside one), as on a shared machine; no timed assertions."""

import json

import numpy as np
import pytest
from run_fixtures import bench_record, make_run
from typer.testing import CliRunner

from aibench_onnx.cli import app
from aibench_onnx.measuring.stats import compare_samples
from aibench_onnx.runs.run import QUICK
from aibench_onnx.subjects import Subject
from aibench_onnx.timing.configs import plan
from aibench_onnx.timing.processes import (
    INTERLEAVED,
    INTERLEAVED_ONE_ROUND,
    ONE_PROCESS,
    across_processes,
    compare_interleaved,
    compare_replicates,
)
from aibench_onnx.timing.schedule import TimingItem, units

runner = CliRunner()


def processes(rng, count: int, median: float, between: float, n: int = 60) -> dict[int, list[float]]:
    """`count` processes; each runs at its own speed (x U(1-between, 1+between)) with 2 % noise inside."""
    return {r: list(median * rng.uniform(1 - between, 1 + between) * (1 + 0.02 * rng.standard_normal(n)))
            for r in range(count)}


def test_identical_configurations_with_per_process_speed_are_no_significant_change_at_nominal_coverage():
    rng = np.random.default_rng(11)
    trials, covered, flagged, covered_within = 200, 0, 0, 0
    for _ in range(trials):
        a, b = processes(rng, 3, 1e-3, 0.2), processes(rng, 3, 1e-3, 0.2)
        found = compare_replicates(a, b, paired=False)
        covered += found.ci_low <= 1.0 <= found.ci_high
        flagged += found.significant
        pooled = compare_samples(np.concatenate(list(a.values())), np.concatenate(list(b.values())))
        covered_within += pooled.ci_low <= 1.0 <= pooled.ci_high
    assert covered / trials >= 0.90  # nominal 95 %
    assert flagged / trials <= 0.05
    assert covered_within / trials < 0.5  # a CI from the samples of one process is far too narrow


def test_a_30_percent_slowdown_is_detected_at_the_default_repeats():
    rng = np.random.default_rng(12)
    repeats = QUICK["repeats"]
    for _ in range(50):
        found = compare_replicates(processes(rng, repeats, 1e-3, 0.05), processes(rng, repeats, 1.3e-3, 0.05),
                                   paired=False)
        assert found.significant and found.verdict.endswith("slower"), found
        assert found.ci_low <= 1.3 <= found.ci_high or found.ci_low > 1.15
        assert found.mde is not None and found.mde < 0.3


def test_pairing_by_round_cancels_drift_that_hits_both_configurations():
    rng = np.random.default_rng(13)
    drift = {r: rng.uniform(0.7, 1.3) for r in range(4)}  # each round runs at its own speed, for everyone
    a = {r: list(1e-3 * drift[r] * (1 + 0.01 * rng.standard_normal(50))) for r in range(4)}
    b = {r: list(1.1e-3 * drift[r] * (1 + 0.01 * rng.standard_normal(50))) for r in range(4)}
    paired, unpaired = compare_replicates(a, b, paired=True), compare_replicates(a, b, paired=False)
    assert paired.method == "paired by round" and paired.significant and paired.ratio == pytest.approx(1.1, rel=0.02)
    assert not unpaired.significant  # the same data, processes counted as independent: drift swamps 10 %


def test_a_ratio_whose_ci_excludes_1_but_inside_the_detectable_effect_is_no_significant_difference():
    a = {r: [m * 1e-3] * 20 for r, m in enumerate((1.00, 1.01, 0.99))}
    b = {r: [m * 1e-3] * 20 for r, m in enumerate((1.025, 1.035, 1.015))}  # 2.5 % slower, processes 1 % apart
    found = compare_replicates(a, b, paired=False)
    assert found.ci_low > 1.0 and found.ratio == pytest.approx(1.025, rel=1e-3)
    assert found.mde > 0.025 and not found.significant and found.verdict == "no significant difference"


def test_one_process_is_compared_within_it_and_says_so():
    rng = np.random.default_rng(15)
    found = compare_replicates(processes(rng, 1, 1e-3, 0.0), processes(rng, 1, 2e-3, 0.0))
    assert found.method == ONE_PROCESS and found.mde is None and found.significant
    summary = across_processes(processes(rng, 1, 1e-3, 0.0))
    assert summary.processes == 1 and ONE_PROCESS in summary.flags


def test_processes_that_disagree_beyond_the_within_process_noise_are_flagged():
    rng = np.random.default_rng(16)
    steady, scattered = across_processes(processes(rng, 5, 1e-3, 0.001)), across_processes(processes(rng, 5, 1e-3, 0.3))
    assert not steady.flags and steady.ci95_s[0] <= steady.median_s <= steady.ci95_s[1]
    assert scattered.flags and scattered.flags[0].startswith("processes disagree")
    assert scattered.between_spread > scattered.within_iqr
    assert scattered.ci95_s[1] - scattered.ci95_s[0] > 5 * (steady.ci95_s[1] - steady.ci95_s[0])


def test_every_configuration_is_measured_exactly_r_times_in_interleaved_shuffled_rounds():
    configs = plan(["torch", "jax"], ["torch-eager", "jax-jit", "ort"], ["cpu"], ["disabled", "all"], [True])
    items = [TimingItem(f"{model}/{c.label}/r{r}", Subject(model, "tiny"), c, r)
             for r in range(3) for model in ("mlp", "cnn") for c in configs]
    order = units(items)
    flat = [item for unit in order for item in unit]
    assert sorted(item.job_id for item in flat) == sorted(item.job_id for item in items)  # each exactly once
    assert [item.round for item in flat] == sorted(item.round for item in flat)  # round r ends before r+1
    for unit in order:  # one runtime group and one round per process
        assert len({(item.round, item.config.process_group) for item in unit}) == 1
    groups_per_round = [[unit[0].config.process_group for unit in order if unit[0].round == r] for r in range(3)]
    assert all(sorted(g) == sorted(groups_per_round[0]) for g in groups_per_round)  # every group, every round
    assert len({tuple(g) for g in groups_per_round}) > 1  # shuffled: not the same order every round


def test_compare_cli_on_an_a_a_pair_of_replicated_runs_passes_a_5_percent_gate(tmp_path):
    rng = np.random.default_rng(17)

    def run(path, seed_offset):
        records = []
        for config, median in (("torch-eager", 2e-3), ("ort:torch-graph:cpu:all", 1e-3), ("jax-jit", 1.5e-3)):
            for r, samples in processes(rng, 3, median, 0.15, n=200).items():
                records.append(bench_record("mlp", config, {1: np.asarray(samples)}, round_index=r))
        return make_run(path, records)

    target = tmp_path / "cmp.json"
    result = runner.invoke(app, ["compare", str(run(tmp_path / "a", 0)), str(run(tmp_path / "b", 1)),
                                 "--fail-on", "median:5%", "--json", str(target)])
    assert result.exit_code == 0, result.output
    rows = json.loads(target.read_text())["rows"]
    assert {row["verdict"] for row in rows} == {"no significant change"}
    assert all(row["processes"] == [3, 3] and row["mde"] > 0 for row in rows)


def test_noise_analysis_of_an_a_a_gives_a_low_false_positive_rate_and_a_gate_it_can_resolve():
    from aibench_onnx.timing.noise import analyse

    rng = np.random.default_rng(18)
    report = analyse(processes(rng, 12, 1e-3, 0.05), repeats=3, trials=200)
    assert report.processes == 12 and report.false_positive_rate <= 0.05
    assert report.false_positive_rate_one_process > report.false_positive_rate  # within-process CIs are too narrow
    assert 0 < report.mde < 0.2 and report.suggested_gate == f"median:{int(np.ceil(100 * report.mde))}%"
    assert report.mde_by_repeats[2] > report.mde_by_repeats[6]  # more processes resolve smaller differences


@pytest.mark.parametrize("argv, expected", [
    (["noise", "mlp", "--processes", "5", "--repeats", "3"], "cannot be split"),
    (["noise", "mlp", "--runtime", "torch-jit"], "valid:"),
    (["noise", "mlp", "-f", "torch", "--runtime", "jax-jit"], "not a runtime of torch"),
    (["noise", "nosuchmodel"], "unknown model"),
])
def test_bad_noise_input_is_one_line_exit_2(argv, expected):
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0], result.output


def test_compare_reads_bench_json_files_with_their_replicates(tmp_path):
    rng = np.random.default_rng(19)

    def bench_json(path, median):
        replicates = [{"round": r, "status": "ok", "batches": {"1": {"measurement": {"samples_s": samples}}}}
                      for r, samples in processes(rng, 3, median, 0.03, n=100).items()]
        document = {"schema_version": 2, "command": "bench", "environment": {},
                    "results": [{"model": "mlp", "results": [{"config": {"label": "torch-eager"}, "status": "ok",
                                                              "replicates": replicates}]}]}
        path.write_text(json.dumps(document))
        return str(path)

    target = tmp_path / "cmp.json"
    result = runner.invoke(app, ["compare", bench_json(tmp_path / "a.json", 1e-3), bench_json(tmp_path / "b.json", 1.5e-3),
                                 "--fail-on", "median:5%", "--json", str(target)])
    assert result.exit_code == 1, result.output  # 50 % slower: the gate fails
    (row,) = json.loads(target.read_text())["rows"]
    assert row["verdict"] == "slower" and row["processes"] == [3, 3] and row["ratio"] == pytest.approx(1.5, rel=0.1)
    (tmp_path / "other.json").write_text(json.dumps({"command": "parity"}))
    result = runner.invoke(app, ["compare", str(tmp_path / "other.json"), str(tmp_path / "a.json")])
    assert result.exit_code == 2 and "not a run directory nor the JSON of `aibench bench --json`" in result.output


class DriftingMachine:
    """A fake runtime's machine: speed drifts slowly (±15 % over tens of seconds) and jumps in bursts (1.5-2.5x
    for 0.2-2 s, a neighbour or the host's other hyperthread) — the same for every configuration at a given
    moment — and each process keeps a small offset of its own for its whole life."""

    def __init__(self, rng, seconds: float = 400.0):
        self.rng = rng
        self.phase, self.period = rng.uniform(0, 2 * np.pi), rng.uniform(20, 60)
        starts = np.sort(rng.uniform(0, seconds, int(seconds / 3)))
        self.bursts = [(s, s + rng.uniform(0.2, 2.0), rng.uniform(1.5, 2.5)) for s in starts]

    def speed(self, t: np.ndarray) -> np.ndarray:
        factor = 1 + 0.15 * np.sin(2 * np.pi * t / self.period + self.phase)
        for start, end, slow in self.bursts:
            factor = np.where((t >= start) & (t < end), factor * slow, factor)
        return factor

    def samples(self, true_s: float, offset: float, start: float, seconds: float, n: int) -> np.ndarray:
        times = start + np.linspace(0, seconds, n, endpoint=False)
        return true_s * offset * self.speed(times) * (1 + 0.01 * self.rng.standard_normal(n))


def _one_experiment(rng, true_a: float, true_b: float, rounds: int = 3, cycles: int = 10, slot_s: float = 0.1):
    """The same measuring time per configuration and round, spent whole (A then B, in a shuffled order) or in
    interleaved slots (A B / B A per cycle, shuffled); both compared over the same processes' offsets."""
    machine = DriftingMachine(rng)
    whole, slots = ({"a": {}, "b": {}}, {"a": {}, "b": {}})
    clock = 0.0
    for r in range(rounds):
        offsets = {"a": rng.lognormal(0, 0.01), "b": rng.lognormal(0, 0.01)}
        true = {"a": true_a, "b": true_b}
        for side in rng.permutation(["a", "b"]):  # round-level design: each side's process measures at once
            whole[side][r] = list(machine.samples(true[side], offsets[side], clock, cycles * slot_s, 20 * cycles))
            clock += cycles * slot_s
        for side in "ab":
            slots[side][r] = {}
        for cycle in range(cycles):  # interleaved design: the same processes, slot by slot
            for side in rng.permutation(["a", "b"]):
                slots[side][r][cycle] = float(np.median(machine.samples(true[side], offsets[side], clock, slot_s, 20)))
                clock += slot_s
        clock += 5.0  # the next round's processes start
    return compare_replicates(whole["a"], whole["b"], paired=True), compare_interleaved(slots["a"], slots["b"])


def test_interleaved_slots_give_a_narrower_ci_than_round_level_pairing_and_cover_the_true_ratio():
    rng = np.random.default_rng(21)
    trials, truth = 200, 1.10
    widths = {"round": [], "slots": []}
    covered = {"round": 0, "slots": 0}
    for _ in range(trials):
        by_round, by_slots = _one_experiment(rng, 1e-3, truth * 1e-3)
        assert by_slots.method == INTERLEAVED and by_slots.processes == [3, 3]
        for name, found in (("round", by_round), ("slots", by_slots)):
            widths[name].append(np.log(found.ci_high / found.ci_low))
            covered[name] += found.ci_low <= truth <= found.ci_high
    assert np.median(widths["slots"]) < 0.25 * np.median(widths["round"])
    assert covered["slots"] / trials >= 0.90  # nominal 95 %


def test_an_a_a_in_interleaved_slots_stays_clean():
    rng = np.random.default_rng(22)
    trials = 200
    flagged = sum(_one_experiment(rng, 1e-3, 1e-3)[1].significant for _ in range(trials))
    assert flagged / trials <= 0.05


def test_one_interleaved_round_is_compared_within_it_and_says_so():
    rng = np.random.default_rng(23)
    a = {0: {c: 1e-3 * (1 + 0.01 * rng.standard_normal()) for c in range(10)}}
    b = {0: {c: 1.2e-3 * (1 + 0.01 * rng.standard_normal()) for c in range(10)}}
    found = compare_interleaved(a, b)
    assert found.method == INTERLEAVED_ONE_ROUND and found.mde is None
    assert found.significant and found.ci_low <= 1.2 <= found.ci_high
    assert compare_interleaved({0: {0: 1.0, 1: 1.0}}, {0: {0: 1.0, 1: 1.0}}) is None  # too few cycles to pair


@pytest.mark.torch
def test_noise_measures_its_processes_as_a_run_and_refuses_a_folder_that_holds_one(tmp_path):
    """`aibench noise` end to end: its processes are a run (runs/bench.py) the report reads; the same --out again
    is one line, exit 2, the first run kept."""
    argv = ["noise", "mlp", "-f", "torch", "--processes", "4", "--repeats", "2", "--min-time", "0.05",
            "--threads", "1", "-o", str(tmp_path / "aa")]
    result = runner.invoke(app, [*argv, "--json", str(tmp_path / "noise.json")])
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "noise.json").read_text())
    assert document["processes"] == 4 and len(document["process_medians_s"]) == 4
    assert document["suggested_gate"].startswith("median:") and "gate this machine resolves" in result.output
    from aibench_onnx.runs.report import build_report

    report = build_report(tmp_path / "aa")
    assert report.written_by == "noise" and report.jobs_done == report.jobs_planned == 4
    again = runner.invoke(app, argv)
    lines = [line for line in again.output.splitlines() if line.strip()]
    assert again.exit_code == 2 and len(lines) == 1 and "holds an earlier run" in lines[0], again.output
    assert build_report(tmp_path / "aa").jobs_done == 4
