"""A bench's tables: each decoder's TTFT/TPOT table (its phases), each model's latency table and its effects
table — from the bench's view of its run (runs/bench.bench_view: one ModelBench per subject)."""

from __future__ import annotations

from aibench_onnx.report.generation_view import decoder_timing_tables, phase_rows
from aibench_onnx.report.tables import Table, effects_table, latency_rows, latency_table


def bench_tables(benches: list, new_tokens: int = 0, show_threads: bool = False) -> list[Table]:
    """`benches`: ModelBench records (timing/bench.py); `show_threads` names each one's thread count (a sweep)."""
    tables = list(decoder_timing_tables(phase_rows(benches), new_tokens))
    for bench in benches:
        threads_note = f", {bench.threads} threads" if show_threads else ""
        if bench.phase is None:
            rows = [row for config in bench.results for row in latency_rows(config.to_dict())]
            tables.append(latency_table(f"{bench.model} ({bench.size}{threads_note}): latency per call "
                                        "(median of per-call block means)", rows))
        if bench.effects:
            tables.append(effects_table(f"{bench.model}{threads_note}: where the time goes (ratio = candidate / "
                                        "baseline median; >1 slower)", [e.to_dict() for e in bench.effects]))
    return tables
