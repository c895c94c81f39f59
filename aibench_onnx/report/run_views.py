"""Markdown and terminal renderings of a run report (data from aibench_onnx.runs.report)."""

from __future__ import annotations

from aibench_onnx.report.generation_view import decoder_timing_tables, generation_table
from aibench_onnx.report.model import RunReport
from aibench_onnx.report.render import md_escape, to_markdown, to_rich
from aibench_onnx.report.tables import (
    Table,
    effects_table,
    export_stats_table,
    latency_table,
    parity_tables,
)
from aibench_onnx.report.why_view import why_lines, why_tables


def environment_lines(report: RunReport) -> list[str]:
    env = report.environment
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
        f"jobs: {report.jobs_done} of {report.jobs_planned} done",
    ] + [f"target {name}: {fingerprint_line(found.get('node', {}).get('fingerprint', {}))}"
         for name, found in report.targets.items()]


def fingerprint_line(fingerprint: dict) -> str:
    """A node's hardware in one line (env/system.hardware_fingerprint)."""
    gpus = ", ".join(fingerprint.get("gpus") or []) or "no GPU"
    clock = f", up to {fingerprint['cpu_max_mhz']} MHz" if fingerprint.get("cpu_max_mhz") else ""
    driver = f", driver {fingerprint['gpu_driver']}" if fingerprint.get("gpu_driver") else ""
    return (f"{fingerprint.get('cpu_model', '?')} ({fingerprint.get('logical_cores', '?')} logical cores{clock}), "
            f"{fingerprint.get('memory_gib', '?')} GiB; {gpus}{driver}")


def settings_table(report: RunReport) -> Table:
    """The run's settings, one per row (lists joined, nested settings as key=value)."""
    table = Table("Settings", ["setting", "value"])
    for key, value in report.settings.items():
        if key == "user_models":
            value = "; ".join(_user_model_line(user) for user in value)
        elif isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        elif isinstance(value, list):
            value = "; ".join(map(str, value))
        table.add([key, value])
    return table


def _user_model_line(user: dict) -> str:
    inputs = user["inputs_from"] or ", ".join(f"{d['name']}:{d['dtype']}[{','.join(map(str, d['dims']))}]"
                                              for d in user["inputs"])
    extras = [f"{k}={v}" for k, v in {**user["dims"], **user["call_args"]}.items()]
    return f"{user['name']} = {user['target']} ({user['framework']}; {inputs}" + \
        (f"; {', '.join(extras)}" if extras else "") + ")"


def run_tables(report: RunReport) -> list[tuple[str, Table]]:
    """The run report's tables in reading order, each with its Markdown heading level."""
    tables = [("##", table) for table in parity_tables(report.parity, report.variants)]
    if report.generation:
        tables.append(("##", generation_table(report.generation)))
    tables += [("##", table) for table in decoder_tables(report)]
    for model, rows in report.latency.items():
        if not report.phase_of(model):  # a decoder phase's rows are in its TTFT/TPOT table
            tables.append(("##", latency_table(f"Latency: {model}", rows)))
        effects = report.effects.get(model, [])
        if effects:
            tables.append(("###", effects_table(f"Where the time goes: {model}", effects)))
        for explanation in report.explained_for(model):
            tables += [("####", table) for table in why_tables(explanation)]
    for model, effects in report.hardware.items():
        tables.append(("##", effects_table(f"Hardware effect: {model} (the same configuration on each target)",
                                           effects)))
    if report.exports:
        tables.append(("##", export_stats_table(report.exports)))
    tables.append(("##", settings_table(report)))
    return tables


def decoder_tables(report: RunReport) -> list[Table]:
    """Each timed decoder's TTFT/TPOT table."""
    found = [(report.phase_of(model), rows) for model, rows in report.latency.items()]
    found = [(phase, rows) for phase, rows in found if phase]
    new_tokens = (report.settings.get("phases") or {}).get("new_tokens", 0)
    return decoder_timing_tables(found, new_tokens) if found else []


def markdown(report: RunReport) -> str:
    out = [f"# aibench {report.written_by} `{md_escape(report.run_dir)}`", ""]
    out += [f"**{md_escape(line)}**  " for line in report.headline] + [""]
    out += [f"- {md_escape(line)}" for line in environment_lines(report)]
    if report.why:
        out += ["", "## Why", ""] + [f"- Why: {md_escape(line)}" for line in why_lines(report.why)]
    for heading, table in run_tables(report):
        out += [""] + to_markdown(table, heading)
    if report.warnings:
        out += ["", "## Warnings", ""] + [f"- {md_escape(w)}" for w in report.warnings]
    return "\n".join(out) + "\n"


def terminal(report: RunReport, console) -> None:
    from rich.markup import escape

    for line in report.headline:
        console.print(f"[bold]{escape(line)}[/bold]", highlight=False)
    for line in environment_lines(report):
        console.print(escape(line), highlight=False)
    for line in why_lines(report.why):
        console.print(f"Why: {escape(line)}", highlight=False)
    for _, table in run_tables(report):
        console.print(to_rich(table))
    for warning in report.warnings:
        console.print(f"[yellow]warning[/yellow] {escape(warning)}")
