"""Markdown and terminal renderings of a run report (data from aibench_onnx.runs.report)."""

from __future__ import annotations

from aibench_onnx.report.numbers import ms, sci
from aibench_onnx.report.styles import status_colour


def _md_escape(text) -> str:
    """Markdown table cells: no pipes, no newlines, no HTML."""
    return (str(text).replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\n", " "))


def environment_lines(report: dict) -> list[str]:
    env = report["environment"]
    system = env.get("system", {})
    packages = env.get("packages", {})
    versions = ", ".join(f"{name} {info['version']}" for name, info in packages.items()
                         if info and name in ("torch", "tensorflow", "jax", "onnx", "tf2onnx", "jax2onnx"))
    ort = env.get("onnxruntime", {}).get("probe", {})
    loads = [p["provider"] for p in ort.get("providers", []) if p.get("loads")]
    gpus = ", ".join(g["name"] for g in env.get("gpu", {}).get("gpus", [])) or "none"
    return [
        f"{system.get('cpu_model', '?')}, {system.get('physical_cores', '?')} physical cores, "
        f"{system.get('memory_total_gib', '?')} GiB; GPUs: {gpus}",
        f"{system.get('python', '?')} on {system.get('os', '?')}",
        f"onnxruntime {ort.get('version', '?')} ({', '.join(loads) or 'no provider loads'}); {versions}",
        f"settings: {report['settings']}",
        f"jobs: {report['jobs_done']} of {report['jobs_planned']} done",
    ]


def markdown(report: dict) -> str:
    out = [f"# aibench run `{_md_escape(report['run_dir'])}`", ""]
    out += [f"- {_md_escape(line)}" for line in environment_lines(report)] + [""]
    out += ["## Parity (ONNX Runtime vs native)", "", "| model | framework | EP | opt | max abs err | min passing atol | verdict |",
            "|---|---|---|---|---|---|---|"]
    for row in report["parity"]:
        verdict = row["status"] + (f": {row['reason']}" if row["reason"] else "") + (f" ({row['blame']})" if row["blame"] else "")
        out.append(f"| {row['model']} | {row['framework']} | {row['ep']} | {row['opt_level']} | {sci(row['max_abs'])} | "
                   f"{sci(row['min_passing_atol'])} | {_md_escape(verdict)} |")
    for model, rows in report["latency"].items():
        out += ["", f"## Latency: {model}", "", "| runtime | batch | median ms | 95% CI ms | items/s | n | notes |",
                "|---|---|---|---|---|---|---|"]
        for row in rows:
            if row["status"] != "ok":
                out.append(f"| {_md_escape(row['label'])} |  |  |  |  |  | {_md_escape(row['status'] + ': ' + row['reason'])} |")
                continue
            low, high = row["ci95_s"]
            out.append(f"| {_md_escape(row['label'])} | {row['batch']} | {ms(row['median_s'])} | {ms(low)}–{ms(high)} | "
                       f"{row['items_per_s']:,.0f} | {row['n']} | {_md_escape('; '.join(row['flags']))} |")
        effects = report["effects"].get(model, [])
        if effects:
            out += ["", f"### Where the time goes: {model}", "", "| batch | effect | baseline | candidate | ratio | 95% CI | verdict |",
                    "|---|---|---|---|---|---|---|"]
            for e in effects:
                out.append(f"| {e['batch']} | {e['kind']} | {_md_escape(e['baseline'])} | {_md_escape(e['candidate'])} | "
                           f"{e['ratio']:.3f} | {e['ci_low']:.3f}–{e['ci_high']:.3f} | {e['verdict']} |")
    if report["exports"]:
        out += ["", "## Export statistics", "", "| framework | model | exporter | nodes | op types | bytes | export s |",
                "|---|---|---|---|---|---|---|"]
        for framework, rows in report["exports"].items():
            for row in rows:
                out.append(f"| {framework} | {row['model']} | {_md_escape(row['exporter'])} | {row['nodes']} | {row['op_types']} | "
                           f"{row['file_bytes']:,} | {sci(row['export_s'], '{:.2f}')} |")
    if report["warnings"]:
        out += ["", "## Warnings", ""] + [f"- {_md_escape(w)}" for w in report["warnings"]]
    return "\n".join(out) + "\n"


def terminal(report: dict, console) -> None:
    from rich.markup import escape
    from rich.table import Table

    for line in environment_lines(report):
        console.print(escape(line), highlight=False)
    table = Table(title="Parity (ONNX Runtime vs native)", title_justify="left")
    for column in ("model", "framework", "EP", "opt", "max abs err", "verdict"):
        table.add_column(column, overflow="fold")
    for row in report["parity"]:
        style = status_colour(row["status"])
        table.add_row(row["model"], row["framework"], row["ep"], row["opt_level"], sci(row["max_abs"]),
                      f"[{style}]{row['status']}[/{style}]" + (f" {escape(row['reason'])}" if row["reason"] else ""))
    console.print(table)
    for model, rows in report["latency"].items():
        table = Table(title=f"Latency: {model}", title_justify="left")
        for column in ("runtime", "batch", "median ms", "95% CI ms", "items/s", "notes"):
            table.add_column(column, overflow="fold")
        for row in rows:
            if row["status"] != "ok":
                table.add_row(row["label"], "", "", "", "", f"[red]{row['status']}[/red] {escape(row['reason'])}")
                continue
            low, high = row["ci95_s"]
            table.add_row(row["label"], str(row["batch"]), ms(row["median_s"]), f"{ms(low)}–{ms(high)}",
                          f"{row['items_per_s']:,.0f}", escape("; ".join(row["flags"])))
        console.print(table)
        effects = report["effects"].get(model, [])
        if effects:
            table = Table(title=f"Where the time goes: {model}", title_justify="left")
            for column in ("batch", "effect", "baseline", "candidate", "ratio", "95% CI", "verdict"):
                table.add_column(column, overflow="fold")
            for e in effects:
                table.add_row(str(e["batch"]), e["kind"], e["baseline"], e["candidate"], f"{e['ratio']:.3f}",
                              f"{e['ci_low']:.3f}–{e['ci_high']:.3f}", e["verdict"])
            console.print(table)
    for warning in report["warnings"]:
        console.print(f"[yellow]warning[/yellow] {escape(warning)}")
