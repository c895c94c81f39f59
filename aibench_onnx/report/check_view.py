"""Terminal rendering of `aibench check`."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from aibench_onnx.report.numbers import sci
from aibench_onnx.report.parity_view import repro_line
from aibench_onnx.report.styles import status_markup


def short_path(nodes: list[str], ends: int = 3) -> str:
    """A path from the graph inputs to a node: whole when short, else its first and last nodes and a count."""
    if len(nodes) <= 2 * ends + 1:
        return " -> ".join(nodes)
    return (" -> ".join(nodes[:ends]) + f" -> … {len(nodes) - 2 * ends} more … -> " + " -> ".join(nodes[-ends:])
            + f" ({len(nodes)} nodes)")


def repair_line(cell) -> str:
    """One line on a failing variant's repair: the nodes kept in fp32, the verdict before and after."""
    repair = cell.repair
    where = f"{cell.precision} {cell.ep}/{cell.opt_level}"
    if repair["status"] != "repaired":
        return f"repair of {where}: {repair['status']} — {repair['note']}"
    kept = ", ".join(f"{k['node']} ({k['op_type']}{', ' + k['source'] if k['source'] else ''})"
                     for k in repair["kept"])

    def said(verdict: dict) -> str:
        sqnr = f"SQNR {verdict['sqnr_db']:.1f} dB" if verdict.get("sqnr_db") is not None else verdict["status"]
        return f"{verdict['status']} ({sqnr})"

    return (f"repair of {where}: keep {kept} in fp32 — {said(repair['before'])} → {said(repair['after'])}; "
            f"{repair['note']}; {repair['tries']} rebuilds in {repair['seconds']:.1f} s; {repair['path']}")


def render_check(result, console: Console, name: str | None = None, framework: str = "onnx") -> None:
    """`name`/`framework`: the model's, for a framework model (default: the file's stem, onnx)."""
    graph = result.graph
    top_ops = ", ".join(f"{op}×{n}" for op, n in list(graph["op_histogram"].items())[:10])
    console.print(f"[bold]{escape(result.path)}[/bold]: {graph['node_count']} nodes ({escape(top_ops)}), opsets "
                  f"{graph['opsets']}, {graph['param_bytes']:,} parameter bytes; checker: {escape(graph['checker'])}; "
                  f"shape inference: {escape(graph['shape_inference'])}", highlight=False)
    if graph.get("dims_made_symbolic"):
        console.print(f"[yellow]dims declared 0 or -1, run as symbolic (ONNX Runtime reads them as static):[/] "
                      f"{escape(', '.join(graph['dims_made_symbolic']))}", highlight=False)
    console.print(f"reference: {result.reference}; input sets: {result.input_sets}")
    for index, one_set in enumerate(result.inputs):
        sources = {f.source for f in one_set}
        shared = f", {sources.pop()}" if len(sources) == 1 else ""  # one source for the set: said once
        fed = "; ".join(f"{f.name} {f.dtype}[{','.join(str(d) for d in f.shape)}]" + ("" if shared else f" {f.source}")
                        for f in one_set)
        console.print(f"inputs (set {index}{escape(shared)}): {escape(fed)}", highlight=False)
    table = Table(title="ONNX Runtime vs reference", title_justify="left")
    for column in ("EP", "opt", "max abs err", "min passing atol", "placement", "verdict"):
        table.add_column(column, overflow="fold")
    for cell in (c for c in result.cells if c.precision == "fp32"):
        placement = ""
        if cell.audit:
            placement = ", ".join(f"{p.removesuffix('ExecutionProvider')} {n}" for p, n in cell.audit["per_provider"].items())
            if cell.audit["memcpy_nodes"]:
                placement += f"; {len(cell.audit['memcpy_nodes'])} Memcpy"
            if cell.audit["note"]:
                placement += f"\n[yellow]{escape(cell.audit['note'])}[/yellow]"
        verdict = status_markup(cell.status)
        if cell.reason:
            verdict += "\n" + escape(cell.reason)
        divergence = cell.divergence
        if divergence and divergence.get("found"):
            verdict += (f"\nfirst diverging node: {escape(divergence['node'])} ({divergence['op_type']}), output "
                        f"{escape(divergence['tensor'])}, max abs err {sci(divergence['max_abs'])}"
                        f"\npath: {escape(short_path(divergence['path']))}"
                        f"\n({divergence['steps']} steps, ≤{divergence['max_extra_outputs']} extra outputs each, "
                        f"{divergence['ort_runs']} runs)")
            if divergence.get("level_note"):
                verdict += f"\n{divergence['level_note']}"
        elif divergence:
            verdict += f"\n{escape(divergence['note'])}"
        if cell.repro:
            verdict += "\n" + escape(repro_line(cell.repro))
        if cell.timing:
            verdict += f"\nmedian {cell.timing['median_s'] * 1e3:.4g} ms (n={cell.timing['n']})"
        ep = cell.ep if cell.runtime == result.cells[0].runtime else f"{cell.runtime} {cell.ep}"  # reference: first
        table.add_row(ep, cell.opt_level, sci(cell.max_abs), sci(cell.min_passing_atol), placement, verdict)
    console.print(table)
    name = name or Path(result.path).stem
    reduced = [{**cell.to_dict(), "model": name, "framework": framework}
               for cell in result.cells if cell.precision != "fp32"]
    if reduced:
        from aibench_onnx.report.parity_view import render_variant_summaries
        from aibench_onnx.report.render import to_rich
        from aibench_onnx.report.tables import precision_table

        reference = "the stored (native) outputs" if result.reference == "stored" else f"{result.reference}'s outputs"
        console.print(to_rich(precision_table(reduced, {(name, framework): result.variants},
                                              f"Reduced precision vs {reference}")))
        render_variant_summaries(result.variants, console)
    for cell in result.cells:
        if cell.repair:
            console.print(escape(repair_line(cell)), highlight=False)
    for cell in result.cells:
        if cell.node_data:
            console.print(f"node data ({cell.precision} {escape(cell.ep)}/{cell.opt_level}): open with "
                          f"[bold]{escape(cell.node_data['open'])}[/bold]", highlight=False, soft_wrap=True)
