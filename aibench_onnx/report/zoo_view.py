"""Terminal rendering of `aibench models` and of cross-framework agreement."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from aibench_onnx.report.numbers import sci
from aibench_onnx.report.styles import status_markup


def _count(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1e6:.1f}M"
    if n >= 10_000:
        return f"{n / 1e3:.0f}k"
    return str(n)


def _shape(shape: list, dims: dict) -> str:
    """[batch, seq=64]: symbolic names, with the default size's value where one is fixed."""
    parts = [str(d) if isinstance(d, int) or d not in dims else f"{d}={dims[d]}" for d in shape]
    return escape("[" + ", ".join(parts) + "]")


def render_zoo(document: dict, console: Console) -> None:
    table = Table(title="Model zoo (sizes: tiny for tests, small default, base full-size; shapes at the "
                  "default size)", title_justify="left")
    for column in ("model", "family", "inputs", "params tiny / small / base", "frameworks"):
        table.add_column(column, overflow="fold")
    for model in document["models"]:
        dims = model["sizes"][model["default_size"]]
        inputs = "\n".join(f"{i['name']} {i['dtype']}{_shape(i['shape'], dims)}" for i in model["inputs"])
        counts = " / ".join(_count(model["param_count"][s]) if s in model["param_count"] else "—"
                            for s in ("tiny", "small", "base"))
        frameworks = " ".join(
            f"[green]{fw}[/green]" if status == "defined, installed" else f"[red]{fw}[/red]"
            for fw, status in model["frameworks"].items()
        )
        name = f"[bold]{model['name']}[/bold]\n[dim]{escape(model['description'])}[/dim]"
        table.add_row(name, model["family"], inputs, counts, frameworks)
    console.print(table)
    for fw, status in document["frameworks"].items():
        if status != "installed":
            console.print(f"[yellow]{fw}[/yellow]: {escape(status)}")




def render_agreement(results: list, console: Console) -> None:
    table = Table(title="Cross-framework agreement (native outputs, same weights, same inputs)", title_justify="left")
    for column in ("model", "size", "pair", "max abs err", "max rel err", "min passing atol", "tolerance", "params", "verdict"):
        table.add_column(column, overflow="fold")
    for agreement in results:
        for pair in agreement.pairs:
            runs = agreement.runs
            counts = f"{runs[pair.reference].param_count} / {runs[pair.framework].param_count}"
            tolerance = (f"rtol {pair.outputs[0].rtol:g} atol {pair.outputs[0].atol:g}" if pair.outputs else "")
            verdict = status_markup(pair.status)
            if pair.reason:
                verdict += f"\n{escape(pair.reason)}"
            table.add_row(agreement.model, agreement.size, f"{pair.framework} vs {pair.reference}",
                          sci(pair.max_abs), sci(pair.max_rel), sci(pair.min_passing_atol), tolerance,
                          counts, verdict)
    console.print(table)
