"""`generate --bench`: the decoders a generation check passed, timed by phase (prefill, decode steps) through the
bench's machinery, on the graphs just checked."""

from __future__ import annotations

from pathlib import Path
from typing import Callable


def time_decoder_phases(subjects: list[tuple], results: list, plan: dict, settings, out_dir: Path, repeats: int,
                        min_time: float, say: Callable[[str], None]) -> list:
    """Each checked decoder timed by phase (a bench of its phases, runs/bench.py), every exporter's graph of it in
    one bench, so its exporter effects come out beside the runtime effects. The graphs are the ones just checked;
    `say` shows a line before each decoder's bench, whose run directory is phases_run_dir's."""
    from aibench_onnx.runtimes import runtimes_of
    from aibench_onnx.status import Status
    from aibench_onnx.subjects import Subject
    from aibench_onnx.runs.bench import bench_run
    from aibench_onnx.timing.configs import plan as plan_configs

    benches = []
    for name in dict.fromkeys(subject.name for subject, _ in subjects):
        checked = [(subject, result) for (subject, _), result in zip(subjects, results) if subject.name == name]
        exports = {result.graph: result.export for _, result in checked if result.export}
        if not any(record["status"] == Status.OK for record in exports.values()):
            continue
        subject, result = checked[0]
        if subject.user:
            io = next(r.io for _, r in checked if r.io)
            phases = Subject.user_decoder_phases({**subject.user, "decoder": io}, plan["prompts"], plan["new_tokens"])
        else:
            phases = Subject.decoder_phases(subject.name, subject.size, plan["prompts"], plan["new_tokens"])
        graphs = list(exports)
        configs = plan_configs(graphs, runtimes_of(graphs, plan["runtimes"] or None), list(settings.eps),
                               list(settings.levels), [True])
        say(f"timing {name} by phase: {len(phases)} phases × {len(configs)} configurations × {repeats} processes")
        benches += bench_run(phases, configs, plan["batches"], settings.threads, {"min_time_s": min_time},
                             phases_run_dir(out_dir, name), "cpu", 900.0, settings.opset, repeats,
                             exported={p.name: exports for p in phases}, command="generate")
    return benches


def phases_run_dir(out_dir: Path, decoder: str) -> Path:
    """Where a decoder's timing by phase runs: a bench's run directory of its own (runs/bench.py)."""
    return Path(out_dir) / "timing" / decoder
