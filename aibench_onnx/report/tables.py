"""One row model per table — parity, latency, effects, compare, export statistics — built from result
dictionaries (what the JSON documents and results.jsonl hold), so `aibench parity`/`bench`/`compare` and the
run report show the same table the same way. Cells are plain text; report/render.py turns a Table into
rich, Markdown or HTML, escaping as each format needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from aibench_onnx.keys import RuntimeConfig
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


def cast_note(casts: list[str]) -> str:
    """Inputs cast to the graph's declared types, one clause per conversion: "a: int64 -> int32 (graph declares
    it)", "b: …" -> "cast int64 -> int32: a, b"."""
    kinds: dict[str, list[str]] = {}
    for cast in casts:
        name, _, how = cast.partition(": ")
        kinds.setdefault(how.split(" (")[0], []).append(name)
    return "; ".join(f"cast {how}: {', '.join(names)}" for how, names in kinds.items())


def audit_notes(audit: dict | None) -> list[str]:
    """What the provider audit says that a reader must see: nodes off the requested provider, Memcpy nodes."""
    audit = audit or {}
    notes = [audit["note"]] if audit.get("note") else []
    if audit.get("memcpy_nodes"):
        notes.append(f"{len(audit['memcpy_nodes'])} Memcpy nodes")
    return notes


# --- parity ------------------------------------------------------------------------------------------------

def parity_table(cells: list[dict], title: str = "Parity (ONNX Runtime vs native)") -> Table:
    """One row per model x framework x provider x level (ParityCell.to_dict() or the run report's rows); a graph
    runtime other than the reference (ONNX Runtime, whose cells come first) names itself in the EP column
    (`openvino cpu`)."""
    reference = next((cell["runtime"] for cell in cells if cell.get("runtime")), "")
    table = Table(title, ["model", "framework", "exporter", "EP", "opt", "max abs err", "max rel err",
                          "min passing atol", "verdict"], status_column=8)
    for cell in cells:
        status = cell["status"]
        notes = [cell.get("reason"), cell.get("blame")]
        if cell.get("input_casts"):
            notes.append(cast_note(cell["input_casts"]))
        notes += audit_notes(cell.get("audit"))
        verdict = LABELS.get(status, status) + "".join(f"\n{note}" for note in notes if note)
        # parity lists the reference runtime's cells first; runs from before other graph runtimes name none
        runtime = cell.get("runtime") or reference
        ep = ("" if runtime == reference else f"{runtime} ") + cell["ep"] + (" +tf32" if cell.get("tf32") else "")
        table.add([cell["model"], cell["framework"], cell.get("exporter", ""), ep, cell["opt_level"],
                   sci(cell.get("max_abs")), sci(cell.get("max_rel")), sci(cell.get("min_passing_atol")), verdict],
                  status)
    return table


def parity_tables(cells: list[dict], variants: dict[tuple[str, str], dict] | None = None,
                  title: str = "Parity (ONNX Runtime vs native)") -> list[Table]:
    """The exports' own cells in the parity table, their reduced-precision variants' in the precision table
    (each only when it has rows): a variant's cell must never pass for the export's."""
    fp32 = [cell for cell in cells if cell.get("precision", "fp32") == "fp32"]
    reduced = [cell for cell in cells if cell.get("precision", "fp32") != "fp32"]
    return ([parity_table(fp32, title)] if fp32 or not reduced else []) + \
        ([precision_table(reduced, variants)] if reduced else [])


def precision_table(cells: list[dict], variants: dict[tuple[str, str], dict] | None = None,
                    title: str = "Reduced precision vs the fp32 native outputs") -> Table:
    """One row per model x framework x precision (with the statistic its verdict used) x provider x level, with
    the numbers each precision's verdict uses (worst over outputs and input sets): mean and max error, cosine,
    SQNR, top-1 agreement. `variants`: (model, framework) -> precision -> the variant's record (size on disk)."""
    table = Table(title, ["model", "framework", "precision", "EP", "opt", "max abs err", "mean abs err", "cosine",
                          "SQNR dB", "top-1", "framework's own", "size", "verdict"], status_column=12)
    for cell in cells:
        outputs = cell.get("outputs") or []
        pick = lambda key, worst: worst([o[key] for o in outputs if o.get(key) is not None], default=None)  # noqa: E731
        cosine, sqnr, top1 = pick("cosine", min), pick("sqnr_db", min), pick("top1_agreement", min)
        record = ((variants or {}).get((cell["model"], cell["framework"])) or {}).get(cell["precision"], {})
        size = f"{record['bytes'] / max(record['fp32_bytes'], 1):.0%} of fp32" if record.get("bytes") else ""
        notes = [cell.get("reason"), cell.get("blame"), localization_note(cell.get("localization")),
                 computed_in_note(cell["precision"], cell.get("audit"))]
        notes += audit_notes(cell.get("audit"))
        verdict = LABELS.get(cell["status"], cell["status"]) + "".join(f"\n{note}" for note in notes if note)
        statistic = judged_on(outputs)
        table.add([cell["model"], cell["framework"], cell["precision"] + (f" ({statistic})" if statistic else ""),
                   cell["ep"], cell["opt_level"],
                   sci(cell.get("max_abs")), sci(pick("mean_abs", max)),
                   "" if cosine is None else f"{cosine:.5f}", "" if sqnr is None else f"{sqnr:.1f}",
                   "" if top1 is None else f"{top1:.0%}", inherent_text(cell.get("inherent")), size, verdict],
                  cell["status"])
    return table


def judged_on(outputs: list[dict]) -> str:
    """The verdict statistic of each output (the precision's default, a model's override or the user's
    --error-stat): one word when all outputs share it."""
    statistics = {o["name"]: o.get("tolerance_reason", "").partition(":")[0] for o in outputs}
    if len(set(statistics.values())) <= 1:
        return next(iter(statistics.values()), "")
    return ", ".join(f"{name}: {statistic}" for name, statistic in statistics.items())


def inherent_text(inherent: dict | None) -> str:
    """The framework's own reduced-precision run against its fp32 run: the error the precision costs anyway."""
    if not inherent:
        return ""
    if inherent.get("status") not in ("passed", "failed"):
        return f"n/a: {inherent.get('reason', '')[:80]}"
    sqnr = inherent.get("sqnr_db")
    return f"mean {sci(inherent.get('mean_abs'))}, SQNR {'' if sqnr is None else f'{sqnr:.1f} dB'}"


def computed_in_note(precision: str, audit: dict | None) -> str:
    """An fp16 graph whose kernels ran on fp32 inputs: the provider has no fp16 kernel for them and ORT
    inserted Casts, so the numbers (and the speed) are fp32 arithmetic on fp16 storage."""
    types = (audit or {}).get("compute_types") or {}
    if precision != "fp16" or not types:
        return ""
    in_fp32, total = types.get("float", 0), sum(types.values())
    if in_fp32 and not types.get("float16"):
        return f"ORT computed all {total} kernels in fp32 (no fp16 kernels on this provider)"
    return f"ORT computed {in_fp32} of {total} kernels in fp32" if in_fp32 > total / 2 else ""


def localization_note(profile: dict | None) -> str:
    """One line for tables: where the error enters."""
    if not profile:
        return ""
    if profile.get("first_nonfinite"):
        found = profile["first_nonfinite"]
        return f"first Inf/NaN at {found['node']} ({found['op_type']}) -> {found['tensor']}"
    if profile.get("first_below"):
        found = profile["first_below"]
        return f"error enters at {found['node']} ({found['op_type']}): SQNR {found['sqnr_db']:.1f} dB"
    if profile.get("worst"):
        found = profile["worst"][0]
        return f"largest error at {found['node']} ({found['op_type']}): SQNR {found['sqnr_db']:.1f} dB"
    return ""


# --- latency -----------------------------------------------------------------------------------------------

def latency_rows(result: dict) -> list[dict]:
    """The rows of one timed configuration (ConfigResult.to_dict(): its replicates and the summary across
    them): one per batch, or one saying why there are no numbers."""
    config = RuntimeConfig.from_dict(result["config"])
    label = config.label
    if result["status"] != Status.OK:
        return [{"label": label, "config": config.to_dict(), "status": result["status"],
                 "reason": result.get("reason", "")}]
    measured = [r for r in result["replicates"] if r["status"] == Status.OK]
    rows = []
    for batch, across in result["summary"].items():
        entries = [r["batches"][batch] for r in measured if batch in r["batches"]]
        summaries = [entry["measurement"]["summary"] for entry in entries]
        per_process = [[f for f in s["flags"] if not f.startswith(("p99 not reported", "timer overhead"))]
                       for s in summaries]
        info = entries[0].get("info") or {}
        # what the row says besides its timing flags: input casts, the provider audit, the result's reason
        context = ([cast_note(info["input_casts"])] if info.get("input_casts") else []) \
            + audit_notes(info.get("audit")) + ([result["reason"]] if result.get("reason") else [])
        notes = list(dict.fromkeys(f for flags in per_process for f in flags)) + across["flags"] + context
        compact = compact_flags(per_process, across["flags"])
        rows.append({"label": label, "config": config.to_dict(), "status": Status.OK, "batch": int(batch), "median_s": across["median_s"],
                     "ci95_s": across["ci95_s"], "processes": across["processes"],
                     "between_spread": across["between_spread"], "within_iqr": across["within_iqr"],
                     "n": sum(s["n"] for s in summaries), "block_size": summaries[0].get("block_size"),
                     "items_per_s": int(batch) / across["median_s"],
                     "first_call_s": float(np.median([entry["cold"]["first_call_s"] for entry in entries])),
                     "flags": notes, "notes": _notes([compact] + context),
                     "reliable": all(s.get("reliable", True) for s in summaries),
                     "peak_rss_mib": (result.get("peak_rss_bytes") or 0) / 2**20})
    return rows


def _percent(value: float | None) -> str:
    return MISSING if value is None or value != value else f"{100 * value:.1f}%"


def latency_table(title: str, rows: list[dict]) -> Table:
    table = Table(title, ["runtime", "batch", "median ms", "95% CI ms", "R", "between processes", "within (IQR)",
                          "items/s", "first call ms", "peak RSS MiB", "notes"], status_column=10)
    for row in rows:
        if row["status"] != Status.OK:
            table.add([row["label"], "", "", "", "", "", "", "", "", "", f"{row['status']}: {row['reason']}"],
                      row["status"])
            continue
        low, high = row["ci95_s"]
        rss = f"{row['peak_rss_mib']:.0f}" if row.get("peak_rss_mib") else MISSING
        spread = _percent(row["between_spread"]) if row["processes"] > 1 else MISSING
        table.add([row["label"], row["batch"], ms(row["median_s"]), f"{ms(low)}–{ms(high)}", row["processes"], spread,
                   _percent(row["within_iqr"]), f"{row['items_per_s']:,.0f}", ms(row.get("first_call_s")), rss,
                   row.get("notes", _notes(row["flags"]))])
    return table


def flag_kind(flag: str) -> str:
    """A flag's kind: its text before the first colon ("noisy", "contaminated", "processes disagree")."""
    return flag.split(":", 1)[0].split(" before ", 1)[0].strip()


def compact_flags(per_process: list[list[str]], across: list[str]) -> str:
    """One short note for a configuration's flags: each kind once with the share of its processes
    ("noisy 2/3, contaminated 1/3, processes disagree 21%"); the full text stays in the row's `flags`."""
    counts: dict[str, int] = {}
    for flags in per_process:
        for kind in dict.fromkeys(flag_kind(f) for f in flags):
            counts[kind] = counts.get(kind, 0) + 1
    parts = [f"{kind} {count}/{len(per_process)}" if len(per_process) > 1 else kind for kind, count in counts.items()]
    for flag in across:
        if flag.startswith("processes disagree"):
            spread = flag.split("spread ", 1)[1].split("%", 1)[0] if "spread " in flag else ""
            parts.append(f"processes disagree {spread}%" if spread else "processes disagree")
        elif not flag.startswith("within one process"):
            parts.append(flag_kind(flag))
    return ", ".join(parts)


def _processes(counts: list[int] | None) -> str:
    """Processes behind a ratio: "3" when both sides had 3, "3/2" otherwise."""
    if not counts:
        return MISSING
    return str(counts[0]) if len(set(counts)) == 1 else "/".join(map(str, counts))


def _detectable(mde: float | None) -> str:
    """The minimum detectable effect: "±4.1%"; a dash where one process cannot estimate it."""
    return MISSING if mde is None else f"±{100 * mde:.1f}%"


# --- effects -----------------------------------------------------------------------------------------------

def effects_table(title: str, effects: list[dict]) -> Table:
    """Ratios candidate / baseline with their CI and verdict; insignificant ones are dimmed."""
    table = Table(title, ["batch", "effect", "baseline", "candidate", "ratio", "95% CI", "R", "detectable",
                          "verdict"], status_column=8)
    for effect in sorted(effects, key=lambda e: (e["kind"], e["baseline"], e["candidate"], e["batch"])):
        quiet = effect["verdict"] == "no significant difference"
        table.add([effect["batch"], effect["kind"], effect["baseline"], effect["candidate"], f"{effect['ratio']:.3f}",
                   f"{effect['ci_low']:.3f}–{effect['ci_high']:.3f}", _processes(effect.get("processes")),
                   _detectable(effect.get("mde")), effect["verdict"]], "quiet" if quiet else None)
    return table


# --- compare -----------------------------------------------------------------------------------------------

COMPARE_STATUS = {"slower": Status.FAILED, "faster": Status.OK}


def compare_table(result: dict) -> Table:
    table = Table(f"{result['base']} -> {result['new']} (ratio = new / base median)",
                  ["model", "configuration", "batch", "base ms", "new ms", "ratio", "95% CI", "R", "detectable",
                   "verdict"], status_column=9)
    for row in result["rows"]:
        table.add([row["model"], row["config"], row["batch"], ms(row["base_median_s"]), ms(row["new_median_s"]),
                   f"{row['ratio']:.3f}", f"{row['ci_low']:.3f}–{row['ci_high']:.3f}", _processes(row.get("processes")),
                   _detectable(row.get("mde")), row["verdict"]],
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
