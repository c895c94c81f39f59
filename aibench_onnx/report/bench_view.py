"""Terminal rendering of `aibench bench`: latency per configuration, then the effects decomposition."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from aibench_onnx.report.numbers import ms


def render_latency(bench, console: Console) -> None:
    table = Table(title=f"{bench.model} ({bench.size}): latency per call (median of per-call block means)",
                  title_justify="left")
    for column in ("runtime", "batch", "median ms", "95% CI ms", "p90 ms", "items/s", "n x block",
                   "first call ms", "peak RSS MiB", "notes"):
        table.add_column(column, overflow="fold")
    for result in bench.results:
        label = result.config.label
        if result.status != "ok":
            table.add_row(label, "", "", "", "", "", "", "", "", f"[red]{result.status}[/red]: {escape(result.reason)}")
            continue
        rss = f"{result.peak_rss_bytes / 2**20:.0f}" if result.peak_rss_bytes else "—"
        for batch, record in sorted(result.batches.items(), key=lambda kv: int(kv[0])):
            summary = record["measurement"]["summary"]
            low, high = summary["ci95_s"]
            notes = list(summary["flags"])
            notes = [n for n in notes if not n.startswith("p99 not reported")]
            if record["info"].get("input_casts"):
                notes.append("cast " + ", ".join(record["info"]["input_casts"]))
            audit = record["info"].get("audit") or {}
            if audit.get("note"):
                notes.append(audit["note"])
            if audit.get("memcpy_nodes"):
                notes.append(f"{len(audit['memcpy_nodes'])} Memcpy nodes")
            table.add_row(label, str(batch), ms(summary["median_s"]), f"{ms(low)}–{ms(high)}", ms(summary["p90_s"]),
                          f"{int(batch) / summary['median_s']:,.0f}", f"{summary['n']}x{summary['block_size']}",
                          ms(record['cold']['first_call_s']), rss, escape("; ".join(notes)))
    console.print(table)


def render_effects(bench, console: Console) -> None:
    if not bench.effects:
        return
    table = Table(title=f"{bench.model}: where the time goes (ratio = candidate / baseline median; >1 slower)",
                  title_justify="left")
    for column in ("batch", "effect", "baseline", "candidate", "ratio", "95% CI", "verdict"):
        table.add_column(column, overflow="fold")
    for effect in sorted(bench.effects, key=lambda e: (e.kind, e.baseline, e.candidate, e.batch)):
        style = "dim" if effect.verdict == "no significant difference" else ""
        table.add_row(str(effect.batch), effect.kind, effect.baseline, effect.candidate, f"{effect.ratio:.3f}",
                      f"{effect.ci_low:.3f}–{effect.ci_high:.3f}", effect.verdict, style=style)
    console.print(table)
