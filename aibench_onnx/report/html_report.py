"""One self-contained HTML file: tables plus matplotlib charts embedded as inline SVG (no network, no
scripts). Every string from the run (model names, reasons, paths) is escaped."""

from __future__ import annotations

import io
import math

from aibench_onnx.keys import RuntimeConfig
from aibench_onnx.report.generation_view import generation_table
from aibench_onnx.report.render import html_escape as _e
from aibench_onnx.report.render import to_html
from aibench_onnx.report.model import RunReport
from aibench_onnx.report.run_views import decoder_tables, environment_lines, settings_table
from aibench_onnx.report.tables import (
    effects_table,
    export_stats_table,
    latency_table,
    parity_tables,
)
from aibench_onnx.report.why_view import why_lines, why_tables

STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
th{background:#f0f0f0}.passed{color:#1a7f37}.failed,.export_failed,.error,.crashed,.timeout{color:#c62828}
.known_failure,.ep_unavailable,.unavailable{color:#b26a00}.quiet{color:#888}figure{margin:1em 0}svg{max-width:100%;height:auto}"""


def _svg(figure) -> str:
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog: the SVG is inlined in HTML


def latency_chart(model: str, rows: list[dict]) -> str:
    """Median latency per configuration at the smallest batch, with the 95 % CI as error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in rows if r["status"] == "ok"]
    if not ok:
        return ""
    batch = min(r["batch"] for r in ok)
    chosen = [r for r in ok if r["batch"] == batch]
    medians = [r["median_s"] * 1e3 for r in chosen]
    errors = [[max(0.0, (r["median_s"] - r["ci95_s"][0]) * 1e3) for r in chosen],
              [max(0.0, (r["ci95_s"][1] - r["median_s"]) * 1e3) for r in chosen]]
    figure, axis = plt.subplots(figsize=(8, 0.35 * len(chosen) + 1.2))
    axis.barh([r["label"] for r in chosen], medians, xerr=errors, color="#4c72b0", capsize=3)
    axis.invert_yaxis()
    axis.set_xlabel(f"median latency, ms (batch {batch}; bars: 95% CI)")
    axis.set_title(f"{model}: latency per configuration")
    return _svg(figure)


def speedup_chart(report: RunReport) -> str:
    """Native eager (or the first native runtime) median / the best median of the reference graph runtime (ONNX
    Runtime: a run plans its configurations first, before other graph runtimes), per model and framework."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bars, reference = [], ""
    for model, rows in report.latency.items():
        ok = [r for r in rows if r["status"] == "ok"]
        if not ok:
            continue
        batch = min(r["batch"] for r in ok)
        ok = [r for r in ok if r["batch"] == batch]
        configs = [RuntimeConfig.from_dict(r["config"]) for r in ok]
        reference = reference or next((c.kind for c in configs if c.runs_graph), "")
        for framework in report.settings["frameworks"]:
            native = [r for r, c in zip(ok, configs) if not c.runs_graph and c.framework == framework]
            graphs = [r for r, c in zip(ok, configs) if c.kind == reference and c.framework == framework]
            if native and graphs:
                bars.append((f"{model}/{framework}", native[0]["median_s"] / min(r["median_s"] for r in graphs)))
    if not bars:
        return ""
    figure, axis = plt.subplots(figsize=(8, 0.35 * len(bars) + 1.2))
    axis.barh([b[0] for b in bars], [b[1] for b in bars], color=["#1a7f37" if b[1] >= 1 else "#c62828" for b in bars])
    axis.axvline(1.0, color="#444", linewidth=1)
    axis.invert_yaxis()
    axis.set_xlabel(f"speed-up of the best {reference} configuration over the native runtime (>1: {reference} faster)")
    axis.set_title(f"{reference} vs native, smallest batch")
    return _svg(figure)


def parity_heatmap(report: RunReport) -> str:
    """log10 of the worst absolute error per model x (framework, EP, level); blank where no numbers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows = report.parity
    if not rows:
        return ""
    models = list(dict.fromkeys(r["model"] for r in rows))
    def column(row: dict) -> str:  # a reduced-precision variant is a column of its own
        precision = row.get("precision") or "fp32"
        return f"{row['framework']}/{row['ep']}/{row['opt_level']}" + ("" if precision == "fp32" else f"/{precision}")

    columns = list(dict.fromkeys(column(r) for r in rows))
    grid = np.full((len(models), len(columns)), np.nan)
    for r in rows:
        if r["max_abs"] is not None:
            grid[models.index(r["model"]), columns.index(column(r))] = math.log10(max(r["max_abs"], 1e-12))
    figure, axis = plt.subplots(figsize=(1.1 * len(columns) + 2.5, 0.4 * len(models) + 1.5))
    image = axis.imshow(grid, cmap="viridis", aspect="auto")
    axis.set_xticks(range(len(columns)), columns, rotation=45, ha="right")
    axis.set_yticks(range(len(models)), models)
    for (i, j), value in np.ndenumerate(grid):
        label = "—" if np.isnan(value) else ("0" if value <= -12 else f"{value:.1f}")  # -12: exactly equal
        axis.text(j, i, label, ha="center", va="center", fontsize=8, color="black" if np.isnan(value) else "white")
    figure.colorbar(image, label="log10 max abs error (— : no numbers: failed or unavailable)")
    axis.set_title("Parity error, ONNX Runtime vs native")
    return _svg(figure)


def render_html(report: RunReport) -> str:
    title = f"aibench {_e(report.written_by)}"  # a run, or a bench's run
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{title} {_e(report.run_dir)}</title>"
             f"<style>{STYLE}</style></head><body>", f"<h1>{title} <code>{_e(report.run_dir)}</code></h1>",
             "<section id='summary'>" + "".join(f"<p><strong>{_e(line)}</strong></p>"
                                                for line in report.headline) + "</section>",
             "<ul>" + "".join(f"<li>{_e(line)}</li>" for line in environment_lines(report)) + "</ul>",
             "<h2>Parity</h2>", f"<figure id='parity-heatmap'>{parity_heatmap(report)}</figure>",
             *(f"<h3>{_e(table.title)}</h3>{to_html(table)}"
               for table in parity_tables(report.parity, report.variants)),
             *(f"<h2>{_e(table.title)}</h2>{to_html(table)}"
               for table in ([generation_table(report.generation)] if report.generation else [])),
             "<h2>Exported graph vs native</h2>", f"<figure id='speedup'>{speedup_chart(report)}</figure>",
             *(f"<h2>{_e(table.title)}</h2>{to_html(table)}" for table in decoder_tables(report))]
    for model, rows in report.latency.items():
        if not report.phase_of(model):  # a decoder phase's rows are in its TTFT/TPOT table
            parts += [f"<h2>Latency: {_e(model)}</h2>", f"<figure class='latency'>{latency_chart(model, rows)}</figure>",
                      to_html(latency_table(f"Latency: {model}", rows))]
        effects = report.effects.get(model, [])
        if effects:
            parts += [f"<h3>Where the time goes: {_e(model)}</h3>",
                      to_html(effects_table(f"Where the time goes: {model}", effects))]
        for explanation, line in ((e, line) for e in report.explained_for(model) for line in why_lines([e])):
            parts += [f"<h4>Why</h4><p>{_e(line)}</p>", *(to_html(table) for table in why_tables(explanation))]
    for model, effects in report.hardware.items():
        title = f"Hardware effect: {model} (the same configuration on each target)"
        parts += [f"<h2>{_e(title)}</h2>", to_html(effects_table(title, effects))]
    if report.exports:
        parts += ["<h2>Export statistics</h2>", to_html(export_stats_table(report.exports))]
    parts += ["<h2>Settings</h2>", to_html(settings_table(report))]
    if report.warnings:
        parts.append("<h2>Warnings</h2><ul>" + "".join(f"<li>{_e(w)}</li>" for w in report.warnings) + "</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)
