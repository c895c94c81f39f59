"""One row model per table — parity, latency, effects, compare, export statistics — built from result
dictionaries (what the JSON documents and results.jsonl hold), so `aibench parity`/`bench`/`compare` and the
run report show the same table the same way. Cells are plain text; report/render.py turns a Table into
rich, Markdown or HTML, escaping as each format needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aibench_onnx.report.numbers import MISSING, ms, sci
from aibench_onnx.report.styles import LABELS
from aibench_onnx.status import Status


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    statuses: list[str | None] = field(default_factory=list)  # per row: its colour / CSS class
    status_column: int | None = None  # the column whose text takes the row's status colour

    def add(self, cells: list, status: str | None = None) -> None:
        self.rows.append(["" if cell is None else str(cell) for cell in cells])
        self.statuses.append(status)


def _notes(parts: list[str]) -> str:
    return "; ".join(part for part in parts if part)


def audit_notes(audit: dict | None) -> list[str]:
    """What the provider audit says that a reader must see: nodes off the requested provider, Memcpy nodes."""
    audit = audit or {}
    notes = [audit["note"]] if audit.get("note") else []
    if audit.get("memcpy_nodes"):
        notes.append(f"{len(audit['memcpy_nodes'])} Memcpy nodes")
    return notes


# --- parity ------------------------------------------------------------------------------------------------

def parity_table(cells: list[dict], title: str = "Parity (ONNX Runtime vs native)") -> Table:
    """One row per model x framework x provider x level (ParityCell.to_dict() or the run report's rows)."""
    table = Table(title, ["model", "framework", "exporter", "EP", "opt", "max abs err", "max rel err",
                          "min passing atol", "verdict"], status_column=8)
    for cell in cells:
        status = cell["status"]
        notes = [cell.get("reason"), cell.get("blame")]
        if cell.get("input_casts"):
            notes.append("cast " + "; ".join(cell["input_casts"]))
        notes += audit_notes(cell.get("audit"))
        verdict = LABELS.get(status, status) + "".join(f"\n{note}" for note in notes if note)
        ep = cell["ep"] + (" +tf32" if cell.get("tf32") else "")
        table.add([cell["model"], cell["framework"], cell.get("exporter", ""), ep, cell["opt_level"],
                   sci(cell.get("max_abs")), sci(cell.get("max_rel")), sci(cell.get("min_passing_atol")), verdict],
                  status)
    return table


# --- latency -----------------------------------------------------------------------------------------------

def latency_rows(result: dict) -> list[dict]:
    """The rows of one timed configuration (a ConfigResult as a dict): one per batch, or one saying why
    there are no numbers."""
    label = result["config"]["label"]
    if result["status"] != Status.OK:
        return [{"label": label, "status": result["status"], "reason": result.get("reason", "")}]
    rows = []
    for batch, entry in sorted(result["batches"].items(), key=lambda kv: int(kv[0])):
        summary = entry["measurement"]["summary"]
        info = entry.get("info") or {}
        notes = [f for f in summary["flags"] if not f.startswith("p99 not reported")]
        if info.get("input_casts"):
            notes.append("cast " + ", ".join(info["input_casts"]))
        notes += audit_notes(info.get("audit"))
        rows.append({"label": label, "status": Status.OK, "batch": int(batch), "median_s": summary["median_s"],
                     "ci95_s": summary["ci95_s"], "p90_s": summary.get("p90_s"), "n": summary["n"],
                     "block_size": summary.get("block_size"), "items_per_s": int(batch) / summary["median_s"],
                     "first_call_s": entry["cold"]["first_call_s"], "flags": notes,
                     "peak_rss_mib": (result.get("peak_rss_bytes") or 0) / 2**20})
    return rows


def latency_table(title: str, rows: list[dict]) -> Table:
    table = Table(title, ["runtime", "batch", "median ms", "95% CI ms", "p90 ms", "items/s", "n x block",
                          "first call ms", "peak RSS MiB", "notes"], status_column=9)
    for row in rows:
        if row["status"] != Status.OK:
            table.add([row["label"], "", "", "", "", "", "", "", "", f"{row['status']}: {row['reason']}"], row["status"])
            continue
        low, high = row["ci95_s"]
        block = f"{row['n']}x{row['block_size']}" if row.get("block_size") else str(row["n"])
        rss = f"{row['peak_rss_mib']:.0f}" if row.get("peak_rss_mib") else MISSING
        table.add([row["label"], row["batch"], ms(row["median_s"]), f"{ms(low)}–{ms(high)}", ms(row.get("p90_s")),
                   f"{row['items_per_s']:,.0f}", block, ms(row.get("first_call_s")), rss, _notes(row["flags"])])
    return table


# --- effects -----------------------------------------------------------------------------------------------

def effects_table(title: str, effects: list[dict]) -> Table:
    """Ratios candidate / baseline with their CI and verdict; insignificant ones are dimmed."""
    table = Table(title, ["batch", "effect", "baseline", "candidate", "ratio", "95% CI", "verdict"], status_column=6)
    for effect in sorted(effects, key=lambda e: (e["kind"], e["baseline"], e["candidate"], e["batch"])):
        quiet = effect["verdict"] == "no significant difference"
        table.add([effect["batch"], effect["kind"], effect["baseline"], effect["candidate"], f"{effect['ratio']:.3f}",
                   f"{effect['ci_low']:.3f}–{effect['ci_high']:.3f}", effect["verdict"]], "quiet" if quiet else None)
    return table


# --- compare -----------------------------------------------------------------------------------------------

COMPARE_STATUS = {"slower": Status.FAILED, "faster": Status.OK}


def compare_table(result: dict) -> Table:
    table = Table(f"{result['base']} -> {result['new']} (ratio = new / base median)",
                  ["model", "configuration", "batch", "base ms", "new ms", "ratio", "95% CI", "verdict"],
                  status_column=7)
    for row in result["rows"]:
        table.add([row["model"], row["config"], row["batch"], ms(row["base_median_s"]), ms(row["new_median_s"]),
                   f"{row['ratio']:.3f}", f"{row['ci_low']:.3f}–{row['ci_high']:.3f}", row["verdict"]],
                  COMPARE_STATUS.get(row["verdict"], "quiet"))
    return table


# --- exports -----------------------------------------------------------------------------------------------

def export_stats_table(exports: dict[str, list[dict]]) -> Table:
    """framework -> one row per exported model (the run report's export statistics)."""
    table = Table("Export statistics", ["framework", "model", "exporter", "nodes", "op types", "bytes", "export s"])
    for framework, rows in exports.items():
        for row in rows:
            table.add([framework, row["model"], row["exporter"], row["nodes"], row["op_types"],
                       f"{row['file_bytes']:,}", sci(row.get("export_s"), "{:.2f}")])
    return table
