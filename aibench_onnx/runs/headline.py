"""The first screen of a run report: in three or four lines, what a reader must know — parity, the largest
significant runtime and graph effects, and what was unreliable."""

from __future__ import annotations

from collections import Counter

from aibench_onnx.report.model import RunReport
from aibench_onnx.status import FAILING, NOT_AVAILABLE, Status

GRAPH_EFFECTS = ("exporter", "optimizer")


def _parity_line(parity: list[dict]) -> str:
    if not parity:
        return "Parity: not checked in this run."
    counts = Counter(row["status"] for row in parity)
    failing = [row for row in parity if row["status"] in FAILING]
    line = (f"Parity: {counts[Status.PASSED]} of {len(parity)} cells passed, {len(failing)} failed, "
            f"{counts[Status.KNOWN_FAILURE]} known failure{'' if counts[Status.KNOWN_FAILURE] == 1 else 's'}, "
            f"{sum(counts[s] for s in NOT_AVAILABLE)} not available here.")
    if failing:
        shown = ", ".join(f"{r['model']}/{r['framework']}/{r['ep']}/{r['opt_level']}" for r in failing[:4])
        line += f" Failed: {shown}{' …' if len(failing) > 4 else ''}."
    return line


def _largest(effects: dict[str, list[dict]], kinds: tuple[str, ...]) -> dict | None:
    found = [(model, e) for model, model_effects in effects.items() for e in model_effects
             if e["kind"] in kinds and e["verdict"] != "no significant difference"]
    if not found:
        return None
    model, effect = max(found, key=lambda pair: max(pair[1]["ratio"], 1 / pair[1]["ratio"]))
    return {**effect, "model": model}


def _effect_line(what: str, effect: dict | None, total: int) -> str:
    if effect is None:
        return f"Largest {what} effect: none significant ({total} compared)."
    return (f"Largest {what} effect: {effect['model']} batch {effect['batch']}: {effect['candidate']} vs "
            f"{effect['baseline']}: {verdict_with_ci(effect)}.")


def verdict_with_ci(effect: dict) -> str:
    """The verdict with its CI in the same direction and units: "52.2x faster (95% CI 15.6–166x)", never a
    speed-up beside the interval of the inverse ratio."""
    low, high, ratio = effect["ci_low"], effect["ci_high"], effect["ratio"]
    if ratio < 1:
        return f"{1 / ratio:.2f}x faster (95% CI {1 / high:.3g}–{1 / low:.3g}x)"
    return f"{ratio:.2f}x slower (95% CI {low:.3g}–{high:.3g}x)"


def _generation_line(results: list[dict]) -> str:
    """Generation parity in one line: how many decoder exports generate what the native model generates."""
    checks = [c for r in results for c in r["checks"] if c["status"] == Status.OK]
    failed = [f"{r['model']}/{r['graph']} {c['ep']}/{c['level']} ({c['blame']}: {c['verdict']})"
              for r in results for c in r["checks"] if c["status"] == Status.OK and not c["passed"]]
    broken = [f"{r['model']}/{r['graph']} ({r['reason']})" for r in results if r["status"] != Status.OK]
    near = sum(1 for c in checks if (c.get("tokens") or {}).get("kind") == "near-tie flip")
    line = (f"Generation: {len(checks) - len(failed)} of {len(checks)} decoder graph checks generate what the native "
            f"model generates (greedy, cache on)" + (f", {near} with a near-tie flip" if near else ""))
    if failed or broken:
        line += "; failed: " + "; ".join(failed + broken)
    return line + "."


def headline(report: RunReport) -> list[str]:
    effects = report.effects
    total = {kinds: sum(1 for model_effects in effects.values() for e in model_effects if e["kind"] in kinds)
             for kinds in (("runtime",), GRAPH_EFFECTS)}
    rows = [row for model_rows in report.latency.values() for row in model_rows]
    measured = [row for row in rows if row["status"] == Status.OK]
    unreliable = sum(1 for row in measured if not row.get("reliable", True))
    disagree = sum(1 for row in measured if any(f.startswith("processes disagree") for f in row["flags"]))
    lost = sum(1 for row in rows if row["status"] in FAILING)
    processes = sorted({row.get("processes", 1) for row in measured})
    # a bench's run (bench, noise, check --bench, generate --bench) only times: no parity line to say so
    checks_parity = report.written_by == "run" or report.parity
    return [
        *([_parity_line(report.parity)] if checks_parity else []),
        *([_generation_line(report.generation)] if report.generation else []),
        _effect_line("runtime", _largest(effects, ("runtime",)), total[("runtime",)]),
        _effect_line("graph (exporter, optimizer)", _largest(effects, GRAPH_EFFECTS), total[GRAPH_EFFECTS]),
        f"Timing: {len(measured)} measurements in {'/'.join(map(str, processes)) or '0'} processes each; "
        f"{unreliable} unreliable inside a process, {disagree} whose processes disagree beyond their own noise, "
        f"{lost} configurations without numbers (failed, crashed or timed out).",
    ]
