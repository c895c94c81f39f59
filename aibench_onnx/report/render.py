"""A report Table (report/tables.py) as a rich table, Markdown lines or an HTML table; each escapes what its
format needs, so a reason such as "a | b <script>" reads the same everywhere and injects nothing."""

from __future__ import annotations

import html

from aibench_onnx.report.styles import status_colour
from aibench_onnx.report.tables import Table

QUIET = "quiet"  # a row that says "nothing to see" (an effect inside the noise): dimmed


def to_rich(table: Table):
    from rich.markup import escape
    from rich.table import Table as RichTable

    rich_table = RichTable(title=table.title, title_justify="left")
    for column in table.columns:
        rich_table.add_column(column, overflow="fold")
    for cells, status in zip(table.rows, table.statuses):
        shown = [escape(cell) for cell in cells]
        if status == QUIET:
            rich_table.add_row(*shown, style="dim")
            continue
        if status is not None and table.status_column is not None:
            colour = status_colour(status)
            shown[table.status_column] = f"[{colour}]{shown[table.status_column]}[/{colour}]"
        rich_table.add_row(*shown)
    return rich_table


def md_escape(text) -> str:
    """Markdown table cells: no pipes, no newlines, no HTML."""
    return (str(text).replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\n", " "))


def to_markdown(table: Table, heading: str = "##") -> list[str]:
    lines = [f"{heading} {md_escape(table.title)}", "", "| " + " | ".join(map(md_escape, table.columns)) + " |",
             "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(md_escape(cell) for cell in cells) + " |" for cells in table.rows]
    return lines


def html_escape(value) -> str:
    return html.escape(str(value), quote=True)


def to_html(table: Table) -> str:
    head = "".join(f"<th>{html_escape(column)}</th>" for column in table.columns)
    body = []
    for cells, status in zip(table.rows, table.statuses):
        css = f' class="{html_escape(status)}"' if status else ""
        body.append(f"<tr{css}>" + "".join(f"<td>{html_escape(cell)}</td>" for cell in cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"
