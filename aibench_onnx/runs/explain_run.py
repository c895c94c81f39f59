"""`aibench explain` on a run directory or a bench JSON: every significant effect of every model explained
(explain/), in a pass of its own after the timing, on this machine. A run keeps the result as explain.json
beside its records, where the report finds it (its "Why" section)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

import numpy as np

from aibench_onnx.errors import UserError
from aibench_onnx.explain.explain import (
    EXPLAIN_SCHEMA_VERSION,
    NotExplained,
    Profiler,
    explain_effects,
    significant,
)
from aibench_onnx.keys import RuntimeConfig
from aibench_onnx.runs.store import EXPLAIN_FILE, latest_records, load_records, load_run


def _inputs_for(model: str, size: str | None, users: list[dict]) -> Callable[[int], dict[str, np.ndarray]]:
    """The model's inputs at a batch size, as the timing made them (seed 0)."""
    user = next((u for u in users if u["name"] == model), None)
    if user is not None:
        from aibench_onnx.frameworks.user_model import UserModel

        return lambda batch: UserModel(**user).arrays(batch)
    from aibench_onnx.zoo.registry import get_spec

    spec = get_spec(model)
    return lambda batch: spec.make_inputs(size or spec.default_size, batch, seed=0)


def _path_in(graphs: dict[str, dict]) -> Callable[[RuntimeConfig], str | None]:
    """The graph a configuration runs, from export records keyed as RuntimeConfig.export_key() says."""
    def path(config: RuntimeConfig) -> str | None:
        record = graphs.get(config.export_key()) or {}
        found = record.get("path")
        return found if found and Path(found).exists() else None

    return path


def explain_run(run_dir: str | Path, threads: int | None = None, every: bool = False,
                on_model: Callable[[str], None] | None = None) -> dict:
    """Explain a run's effects; written to RUN_DIR/explain.json and returned."""
    from aibench_onnx.runs.report import build_report

    run_dir = Path(run_dir)
    report = build_report(run_dir)
    settings = report["settings"]
    graphs: dict[str, dict[str, dict]] = {}  # model -> graph (or graph/precision) -> export record
    for record in latest_records(load_records(run_dir)[0]).values():
        result = record.get("result") or {}
        if record.get("kind") == "parity" and result.get("export"):
            found = graphs.setdefault(result["model"], {})
            found[result["framework"]] = result["export"]
            found.update({f"{result['framework']}/{p}": v for p, v in (result.get("variants") or {}).items()})
    document = _explain(report["effects"], graphs, settings.get("size"), settings.get("user_models", []),
                        threads or settings.get("threads", 1), run_dir / "explain", every, on_model)
    (run_dir / EXPLAIN_FILE).write_text(json.dumps({**document, "run_dir": str(run_dir)}, indent=1))
    return document


def explain_bench(path: str | Path, threads: int | None = None, every: bool = False,
                  on_model: Callable[[str], None] | None = None) -> dict:
    """Explain the effects of `aibench bench --json`'s document."""
    try:
        document = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: not a run directory nor a readable bench JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("command") != "bench":
        raise UserError(f"{path}: not a run directory, an ONNX file nor the JSON of `aibench bench --json`")
    settings = document.get("settings", {})
    effects = {model["model"]: model.get("effects", []) for model in document.get("results", [])}
    graphs = {model["model"]: model.get("exports", {}) for model in document.get("results", [])}
    sizes = {model["model"]: model.get("size") for model in document.get("results", [])}
    users = [settings["user_model"]] if settings.get("user_model") else []
    return _explain(effects, graphs, None, users, threads or settings.get("threads", 1),
                    Path(path).with_suffix("").parent / (Path(path).stem + "-explain"), every, on_model, sizes)


def _explain(effects: dict[str, list[dict]], graphs: dict[str, dict], size: str | None, users: list[dict],
             threads: int, workdir: Path, every: bool, on_model: Callable[[str], None] | None,
             sizes: dict[str, str] | None = None) -> dict:
    started = time.perf_counter()
    profiler = Profiler(threads, workdir)
    explanations = []
    for model, model_effects in effects.items():
        if "@" in model:  # a Ray run's target: its graphs ran on another machine
            continue
        if on_model:
            on_model(model)
        try:
            feed_at = _inputs_for(model, (sizes or {}).get(model, size), users)
        except UserError as exc:  # e.g. a point of a user model's dims sweep: its inputs are not rebuilt here
            explanations += [NotExplained(f"{model} b{e['batch']}", e["baseline"], e["candidate"],
                                          f"its inputs cannot be made here ({exc})").to_dict()
                             for e in model_effects if every or significant(e)]
            continue
        user = next((u for u in users if u["name"] == model), None)
        native = {"user": user} if user else {"model": model, "size": (sizes or {}).get(model, size)}
        if native.get("model") and native["size"] is None:
            from aibench_onnx.zoo.registry import get_spec

            native["size"] = get_spec(model).default_size
        found = explain_effects(model, model_effects, _path_in(graphs.get(model, {})), feed_at, profiler, every,
                                native)
        explanations += [e.to_dict() for e in found]
    return {"schema_version": EXPLAIN_SCHEMA_VERSION, "command": "explain", "threads": threads,
            "peaks": profiler.peaks, "wall_s": round(time.perf_counter() - started, 2), "explanations": explanations}


def is_run_dir(path: str) -> bool:
    try:
        load_run(path)
        return True
    except UserError:
        return False
