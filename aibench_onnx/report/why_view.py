"""The "Why" of effects (explain/): one line per explained effect, then its difference split by operator type
and by source module, the fusions each side's optimizer made, and how each operator type used the machine."""

from __future__ import annotations

from aibench_onnx.report.tables import Table

TOP_ROWS = 8
BAR_WIDTH = 24  # characters of the longest bar in the top-nodes table


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
    return tables + [summary] + top_nodes_tables(explanation, name)


def node_time_difference(base: dict, cand: dict) -> dict[str, float]:
    """Two sides' node times on one graph (explain/node_time.py): µs candidate minus baseline per node."""
    return {t: round(cand["us"].get(t, 0.0) - base["us"].get(t, 0.0), 3) for t in {**base["us"], **cand["us"]}}


def _bar(value: float, largest: float) -> str:
    return "█" * max(1, round(BAR_WIDTH * abs(value) / largest)) if largest and value else ""


def top_nodes_tables(explanation: dict, name: str) -> list[Table]:
    """The nodes of the exported graph the effect moved the most time to or from (one graph on both sides: the
    difference per node), or each side's costliest nodes (two graphs), with a bar per node; then the commands
    that open the node-data files in Model Explorer, when they were written (`explain --node-data`)."""
    sides = list((explanation.get("node_times") or {}).items())
    if len(sides) != 2:
        return []
    (base_label, base), (cand_label, cand) = sides
    if base["graph"] == cand["graph"]:
        difference = node_time_difference(base, cand)
        rows = sorted(difference.items(), key=lambda item: -abs(item[1]))[:TOP_ROWS]
        table = Table(f"Why — {name}: top nodes of the exported graph",
                      ["node output", "difference µs", "bar"], status_column=2)
        largest = max((abs(v) for _, v in rows), default=0.0)
        for tensor, value in rows:
            table.add([tensor, f"{value:+.1f}", _bar(value, largest)], "failed" if value > 0 else "passed")
        tables = [table]
    else:
        tables = []
        for label, found in ((base_label, base), (cand_label, cand)):
            rows = sorted(found["us"].items(), key=lambda item: -item[1])[:TOP_ROWS]
            table = Table(f"Why — {name}: costliest nodes of {label}", ["node output", "µs", "bar"])
            largest = max((v for _, v in rows), default=0.0)
            for tensor, value in rows:
                table.add([tensor, f"{value:.1f}", _bar(value, largest)])
            tables.append(table)
    written = explanation.get("node_data")
    if written:
        opened = Table(f"Why — {name}: node data for Model Explorer", ["file", "open with"])
        for path, command in zip(written["files"], written["open"]):  # one command per file
            opened.add([path, command])
        tables.append(opened)
    return tables
