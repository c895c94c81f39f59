"""Generation checks as tables (GenerationResult.to_dict() documents): one row per decoder × exporter × runtime
— the native model's own checks first, then each graph runtime's against it — and the exports' cost."""

from __future__ import annotations

from aibench_onnx.report.numbers import MISSING, sci
from aibench_onnx.report.styles import LABELS
from aibench_onnx.report.tables import Table
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
            table.add(prefix + [MISSING] * 7 + [f"{LABELS.get(result['status'], result['status'])}\n{result['reason']}"],
                      result["status"])
            continue
        rows = [({**result["native"], "blame": ""}, "native")] + [(c, f"ort {c['ep']}/{c['level']}")
                                                                  for c in result["checks"]]
        for check, runtime in rows:
            if check["status"] != Status.OK:
                table.add(prefix + [runtime] + [MISSING] * 6 + [f"{LABELS.get(check['status'], check['status'])}\n"
                                                                f"{check['reason']}"], check["status"])
                continue
            status = Status.PASSED if check["passed"] else Status.FAILED
            verdict = "pass" if check["passed"] else f"FAIL ({check['blame']})" if check.get("blame") else "FAIL"
            notes = [] if check["passed"] else [check["verdict"]]
            if check["tokens"] and check["tokens"]["kind"] == "near-tie flip":
                notes.append(check["tokens_text"] if "tokens_text" in check else "near-tie flip: rounding, not a defect")
            if check.get("generate_agreement"):
                notes.append(f"generate(): {_tokens(check['generate_agreement'])}")
            if check.get("casts"):
                notes.append("cast " + "; ".join(check["casts"]))
            table.add(prefix + [runtime, _error(check["prefill"]), _error(check["decode"]),
                                _error(check["cache_contents"]), _tokens(check["tokens"]), _error(check["cache"]),
                                _error(check["padding"]), "\n".join([verdict, *notes])], status)
        if result["status"] != Status.OK:
            table.add(prefix + ["ort"] + [MISSING] * 6 + [f"{LABELS.get(result['status'], result['status'])}\n"
                                                          f"{result['reason']}"], result["status"])
    return table


def export_table(results: list[dict]) -> Table:
    table = Table("Decoder exports", ["model", "exporter", "status", "export s", "peak RSS MB", "nodes", "opset"],
                  status_column=2)
    for result in results:
        record = result.get("export")
        if not record:
            continue
        status = record["status"]
        table.add([result["model"], record.get("exporter", result["graph"]),
                   LABELS.get(status, status) + (f"\n{record['reason']}" if record.get("reason") else ""),
                   f"{record['export_s']:.1f}" if record.get("export_s") is not None else MISSING,
                   f"{record['peak_rss_mb']:.0f}" if record.get("peak_rss_mb") is not None else MISSING,
                   (record.get("graph") or {}).get("node_count", MISSING), record.get("opset", MISSING)], status)
    return table


def render_generation(results: list[dict], console, form: str = "terminal") -> None:
    from aibench_onnx.report.render import to_html, to_markdown, to_rich

    tables = [generation_table(results), export_table(results)]
    if form == "markdown":
        for table in tables:
            console.print("\n".join(to_markdown(table)) + "\n", markup=False, highlight=False, soft_wrap=True)
    elif form == "html":
        console.print("".join(f"<h2>{t.title}</h2>{to_html(t)}" for t in tables), markup=False, highlight=False,
                      soft_wrap=True)
    else:
        for table in tables:
            console.print(to_rich(table))
