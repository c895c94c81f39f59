"""Terminal rendering of ONNX export records and ONNX-vs-native parity tables."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from aibench_onnx.report.render import to_rich
from aibench_onnx.report.tables import parity_tables


def render_parity(results: list, console: Console) -> None:
    cells = [cell.to_dict() for result in results for cell in result.cells]
    variants = {(r.model, r.framework): r.variants for r in results}
    for table in parity_tables(cells, variants, "ONNX Runtime vs native outputs (per model, exporter, provider, "
                                                "optimization level)"):
        console.print(to_rich(table))
    for result in results:
        render_variant_summaries(result.variants, console, f"{result.model}/{result.framework} ")
    flagged = [(r, finding) for r in results if r.export and r.export.get("graph")
               for finding in r.export["graph"]["suspicious"]]
    for result, finding in flagged:
        console.print(f"[yellow]graph note[/yellow] {result.model}/{result.framework}: {escape(finding)}")
    for result in results:
        for cell in (c for c in result.cells if c.repro):
            console.print(f"{result.model}/{result.framework} {cell.ep}/{cell.opt_level}: "
                          f"{escape(repro_line(cell.repro))}", highlight=False)


def repro_line(repro: dict) -> str:
    """One line on a cell's reproduction bundle: where, how small, whether it reproduced, whose tracker."""
    if not repro.get("directory"):
        return f"no reproduction: {repro.get('note', '')}"
    verdict = "reproduces in a fresh process" if repro["reproduced"] else f"did NOT reproduce ({repro['note']})"
    return (f"reproduction: {repro['directory']} — {repro['bundle_nodes']} of {repro['full_nodes']} nodes, "
            f"{repro['bytes'] / 1024:.1f} KiB, {verdict}; file it with {repro['tracker']['project']}")


def render_variant_summaries(variants: dict[str, dict], console: Console, label: str = "") -> None:
    """One dim line per variant that was built: `label` precision: what the conversion did."""
    for precision, record in variants.items():
        if record.get("status") == "ok":
            console.print(f"[dim]{escape(label)}{precision}:[/dim] {escape(variant_summary(record))}", highlight=False)


def variant_summary(record: dict) -> str:
    """One line: what the conversion did and what it left as it was."""
    parts = [record.get("converter", "")]
    if record.get("nodes_kept_fp32"):
        parts.append("kept fp32: " + ", ".join(f"{op}×{n}" for op, n in record["nodes_kept_fp32"].items()))
    if record.get("weights_clamped"):
        parts.append(f"{len(record['weights_clamped'])} weight tensors clamped into fp16's range")
    if record.get("output_consumers_rewired"):
        parts.append(f"{record['output_consumers_rewired']} readers of a graph output moved to its fp16 value "
                     "(converter fix)")
    if record.get("calibration"):
        parts.append(record["calibration"])
    if record.get("quantization_nodes"):
        parts.append("added " + ", ".join(f"{op}×{n}" for op, n in record["quantization_nodes"].items()))
    if record.get("left_float"):
        parts.append("left float: " + ", ".join(f"{op}×{n}" for op, n in record["left_float"].items()))
    return "; ".join(p for p in parts if p)


def render_export_record(record: dict, console: Console) -> None:
    ok = record["status"] == "ok"
    table = Table(title=f"Export of {record['model']} ({record['size']}) from {record['framework']}",
                  show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    rows = [
        ("status", "[green]ok[/green]" if ok else f"[bold red]failed[/bold red]: {escape(record['reason'])}"),
        ("exporter", f"{record['exporter']} {record['exporter_version']}"),
        ("opset", str(record["opset"])),
        ("export time", f"{record['export_s']:.2f} s"),
    ]
    graph = record.get("graph")
    if graph:
        io = lambda values: ", ".join(f"{v['name']} {v['dtype']}{escape(str(v['shape']))}" for v in values)  # noqa: E731
        top_ops = ", ".join(f"{op}×{n}" for op, n in list(graph["op_histogram"].items())[:12])
        rows += [
            ("file", f"{graph['path']} ({graph['file_bytes']:,} bytes)"),
            ("inputs", io(graph["inputs"])),
            ("outputs", io(graph["outputs"])),
            ("nodes", f"{graph['node_count']} ({top_ops})"),
            ("parameters", f"{graph['param_count']:,} in {graph['initializers']} initializers, "
                           f"{graph['param_bytes']:,} bytes"),
            ("onnx.checker (full)", escape(graph["checker"])),
            ("shape inference", escape(graph["shape_inference"])),
            ("suspicious", escape("\n".join(f for f in graph["suspicious"] if not f.startswith("onnx.checker")))
             or "none"),
        ]
    if record["warnings"]:
        first_lines = dict.fromkeys(w.strip().splitlines()[0] for w in record["warnings"] if w.strip())
        rows.append(("exporter said", escape("\n".join(list(first_lines)[:10]))))
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)
