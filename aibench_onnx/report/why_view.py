"""The "Why" of effects (explain/): one line per explained effect, then its difference split by operator type
and by source module, the fusions each side's optimizer made, and how each operator type used the machine."""

from __future__ import annotations

from aibench_onnx.report.tables import Table

TOP_ROWS = 8


def why_lines(explanations: list[dict]) -> list[str]:
    return [e["line"] if "line" in e else f"{e['subject']}, {e['candidate']} vs {e['baseline']}: not explained — "
            f"{e['not_explained']}" for e in explanations]


def _split_table(title: str, rows: list[dict], measured: float, baseline: str, candidate: str) -> Table:
    table = Table(title, ["group", f"{baseline} µs", f"{candidate} µs", "difference µs", "share of difference",
                          "nodes"])
    for row in rows[:TOP_ROWS + 1]:
        share = f"{100 * row['difference_us'] / measured:.0f} %" if measured else "—"
        table.add([row["group"], f"{row['baseline_us']:.1f}", f"{row['candidate_us']:.1f}",
                   f"{row['difference_us']:+.1f}", share, f"{row['baseline_nodes']} → {row['candidate_nodes']}"])
    return table


def why_tables(explanation: dict) -> list[Table]:
    """The tables of one explained effect (NotExplained entries have none)."""
    if "attribution" not in explanation:
        return []
    found = explanation["attribution"]
    measured, base, cand = found["measured_difference_us"], found["baseline"], found["candidate"]
    name = f"{explanation['subject']}: {cand} vs {base}"
    rows = found["by_op_type"][:TOP_ROWS] + ([found["outside"]] if found.get("outside") else [])
    tables = [_split_table(f"Why — {name}, by operator type", rows, measured, base, cand),
              _split_table(f"Why — {name}, by {found.get('grouping', 'source module')}", found["by_source"], measured,
                           base, cand)]
    summary = Table(f"Why — {name}: measurement", ["side", "latency µs (unprofiled)", "profiled node time",
                                                   "fusions by the optimizer", "operator rates"])
    for side, latency, coverage in ((base, found["baseline_latency_us"], found["coverage"][0]),
                                    (cand, found["candidate_latency_us"], found["coverage"][1])):
        ledger = explanation["ledgers"].get(side, {})
        fusions = ", ".join(f"{f['pattern']} ×{f['count']}" for f in ledger.get("fusions", [])[:4]) or "none"
        rates = explanation["rates"].get(side, {})
        top = sorted(rates.items(), key=lambda item: -item[1]["time_us"])[:3]
        summary.add([side, f"{latency:.1f}", f"{100 * coverage:.0f} % of latency", fusions,
                     "; ".join(f"{op} {r['bound']}" for op, r in top) or "—"])
    return tables + [summary]
