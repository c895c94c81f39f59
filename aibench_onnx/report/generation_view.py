"""Generation checks as tables (GenerationResult.to_dict() documents): one row per decoder × exporter × runtime
— the native model's own checks first, then each graph runtime's against it — and the exports' cost."""

from __future__ import annotations

from aibench_onnx.report.numbers import MISSING, sci
from aibench_onnx.report.styles import LABELS
from aibench_onnx.report.tables import Table, cast_note
from aibench_onnx.status import Status


def _error(path: dict | None) -> str:
    if path is None:
        return MISSING
    text = sci(path["max_abs"])
    if path.get("worst_step") and not path["passed"]:
        text += f" @{path['worst_step']}"
    return text if path["passed"] else f"{text} FAIL"


def _tokens(agreement: dict | None) -> str:
    if agreement is None:
        return MISSING
    if agreement["kind"] == "agree":
        return f"{agreement['agreed']}/{agreement['total']}"
    flip = "near tie" if agreement["kind"] == "near-tie flip" else "DIVERGED"
    return (f"{agreement['agreed']}/{agreement['total']}, {flip} @{agreement['first_step']} "
            f"(margin {agreement['margin']:.2g})")


def generation_table(results: list[dict], title: str = "Generation parity (greedy, against the native model)") -> Table:
    table = Table(title, ["model", "exporter", "runtime", "prefill |Δ|", "decode |Δ|", "cache |Δ|", "tokens",
                          "cache on vs off", "padded vs alone", "verdict"], status_column=9)
    for result in results:
        prefix = [result["model"], result["graph"]]
        if result["status"] != Status.OK and not result.get("native"):
            table.add(prefix + [MISSING] * 7 + [_why(result)], result["status"])
            continue
        rows = [({**result["native"], "blame": ""}, "native")] + [(c, f"ort {c['ep']}/{c['level']}")
                                                                  for c in result["checks"]]
        for check, runtime in rows:
            if check["status"] != Status.OK:
                table.add(prefix + [runtime] + [MISSING] * 6 + [_why(check)], check["status"])
                continue
            status = Status.PASSED if check["passed"] else Status.FAILED
            verdict = "pass" if check["passed"] else f"FAIL ({check['blame']})" if check.get("blame") else "FAIL"
            notes = [] if check["passed"] else [check["verdict"]]
            tokens = check["tokens"]
            if tokens and tokens["kind"] == "near-tie flip":
                notes.append(f"near-tie flip at step {tokens['first_step']} (top-2 margin {tokens['margin']:.2g} ≤ "
                             f"{tokens['bound']:.2g}): rounding, not a defect")
            if check.get("generate_agreement"):
                notes.append(f"generate(): {_tokens(check['generate_agreement'])}")
            if check.get("as_native"):
                found = ", ".join(f["name"] for f in check["as_native"])
                notes.append(f"probes: {found} (the model's design)" if runtime == "native"
                             else f"as the native model: {found}")
            if check.get("casts"):
                notes.append(cast_note(check["casts"]))
            table.add(prefix + [runtime, _error(check["prefill"]), _error(check["decode"]),
                                _error(check["cache_contents"]), _tokens(check["tokens"]), _error(check["cache"]),
                                _error(check["padding"]), "\n".join([verdict, *notes])], status)
        if result["status"] != Status.OK:
            table.add(prefix + [MISSING] * 7 + [_why(result)], result["status"])  # no runtime ran it
    return table


def _why(found: dict) -> str:
    """A status's label and its reason: what a row that has no numbers says instead."""
    return f"{LABELS.get(found['status'], found['status'])}\n{found['reason']}"


def export_table(results: list[dict]) -> Table:
    table = Table("Decoder exports", ["model", "exporter", "status", "export s", "peak RSS MB", "nodes", "opset"],
                  status_column=2)
    for result in results:
        record = result.get("export")
        if not record:
            continue
        status = record["status"]
        route = f" ({record['route']})" if record.get("route") else ""  # the route that exported it after a failure
        table.add([result["model"], record.get("exporter", result["graph"]) + route,
                   LABELS.get(status, status) + (f"\n{record['reason']}" if record.get("reason") else ""),
                   f"{record['export_s']:.1f}" if record.get("export_s") is not None else MISSING,
                   f"{record['peak_rss_mb']:.0f}" if record.get("peak_rss_mb") is not None else MISSING,
                   (record.get("graph") or {}).get("node_count", MISSING), record.get("opset", MISSING)], status)
    return table


def render_generation(results: list[dict], console, form: str = "terminal", more: list[Table] | None = None) -> None:
    """The generation and export tables, then `more` (a --bench's TTFT/TPOT and effects tables)."""
    from aibench_onnx.report.render import to_html, to_markdown, to_rich

    tables = [generation_table(results), export_table(results), *(more or [])]
    if form == "markdown":
        for table in tables:
            console.print("\n".join(to_markdown(table)) + "\n", markup=False, highlight=False, soft_wrap=True)
    elif form == "html":
        console.print("".join(f"<h2>{t.title}</h2>{to_html(t)}" for t in tables), markup=False, highlight=False,
                      soft_wrap=True)
    else:
        for table in tables:
            console.print(to_rich(table))
    for line in repro_lines(results):
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def repro_lines(results: list[dict]) -> list[str]:
    """One line per failing check that `generate --repro` reproduced (or says why not)."""
    from aibench_onnx.report.parity_view import repro_line

    return [f"{r['model']}/{r['graph']} {c['ep']}/{c['level']}: {repro_line(c['repro'])}"
            for r in results for c in r.get("checks", []) if c.get("repro")]


# --- timing: time to first token and time per output token ---------------------------------------------------

CACHE_UNUSED_SLOPE = 0.5  # decode cost per token of context at half a prefill's per-token cost or more


def phase_rows(benches) -> list[tuple[dict, list[dict]]]:
    """(phase, latency rows) of each decoder phase among a bench's per-subject results (timing.bench.ModelBench)."""
    from aibench_onnx.report.tables import latency_rows

    return [(b.phase, [row for config in b.results for row in latency_rows(config.to_dict())])
            for b in benches if b.phase]


def decoder_timing_tables(phases: list[tuple[dict, list[dict]]], new_tokens: int) -> list[Table]:
    """Per zoo decoder timed by phases — (its phase record, its latency rows (tables.latency_rows)) each —: one
    row per runtime × batch × prompt: TTFT (the prompt's prefill), TPOT (a decode step with the cache at the
    start and at the end of `new_tokens`), tokens/s; and how a decode step grows with its context against how
    a prefill grows with its prompt: a decode step that grows like a prefill recomputes what the cache should
    hold."""
    found: dict[str, dict] = {}  # decoder -> (label, batch) -> kind -> tokens -> row
    for phase, rows in phases:
        for row in rows:
            key = (row["label"], row.get("batch"))
            found.setdefault(phase["decoder"], {}).setdefault(key, {"prefill": {}, "decode": {}})[phase["kind"]][
                phase["tokens"]] = row
    tables = []
    for decoder, configs in found.items():
        table = Table(f"{decoder}: time to first token (prefill) and time per output token (a decode step with the "
                      f"cache at the start → end of {new_tokens} tokens)",
                      ["runtime", "batch", "prompt", "TTFT ms (95% CI)", "TPOT ms start → end", "tokens/s",
                       "decode growth", "notes"], status_column=7)
        for (label, batch), phases_of in configs.items():
            growth, verdict = _growth(phases_of)
            for prompt in sorted(phases_of["prefill"]):
                first = phases_of["prefill"][prompt]
                start, end = phases_of["decode"].get(prompt), phases_of["decode"].get(prompt + new_tokens - 1)
                failed = [r for r in (first, start, end) if r is not None and r["status"] != Status.OK]
                if failed:
                    table.add([label, batch or MISSING, prompt, MISSING, MISSING, MISSING, MISSING,
                               f"{LABELS.get(failed[0]['status'], failed[0]['status'])}: {failed[0]['reason']}"],
                              failed[0]["status"])
                    continue
                tpot = [r["median_s"] for r in (start, end) if r is not None]
                tokens_per_s = batch / (sum(tpot) / len(tpot)) if tpot else None
                notes = [n for n in (first.get("notes"), verdict) if n]
                table.add([label, batch, prompt, _with_ci(first),
                           " → ".join(_with_ci(r) for r in (start, end) if r is not None) or MISSING,
                           f"{tokens_per_s:.4g}" if tokens_per_s else MISSING, growth, "; ".join(notes)],
                          Status.FAILED if verdict else Status.OK)
        tables.append(table)
    return tables


def _with_ci(row: dict) -> str:
    low, high = row["ci95_s"]
    ci = "" if low != low else f" ({low * 1e3:.3g}–{high * 1e3:.3g})"
    return f"{row['median_s'] * 1e3:.4g}{ci}"


def _slope(points: dict[int, dict]) -> float | None:
    """Least-squares seconds per token over (tokens, median) points that were measured."""
    import numpy as np

    measured = [(tokens, row["median_s"]) for tokens, row in points.items() if row["status"] == Status.OK]
    if len({t for t, _ in measured}) < 2:
        return None
    x, y = np.array(measured, dtype=float).T
    return float(np.polyfit(x, y, 1)[0])


def _growth(phases: dict) -> tuple[str, str]:
    """The decode step's growth per 100 tokens of context, and a verdict when it grows like a prefill."""
    decode, prefill = _slope(phases["decode"]), _slope(phases["prefill"])
    if decode is None:
        return MISSING, ""
    text = f"{decode * 1e8:+.3g} µs per 100 tokens of context"
    if prefill is not None and prefill > 0:
        text += f" (prefill: {prefill * 1e8:+.3g} µs per 100 prompt tokens)"
        if decode >= CACHE_UNUSED_SLOPE * prefill:
            return text, ("a decode step grows with its context like a prefill with its prompt: it recomputes what "
                          "the cache should hold (cache not used)")
    return text, ""
