"""The one loop that runs an ONNX file on one execution provider at one optimization level over several
input sets: the parity engine (parity/check.py) runs every cell with it.

A provider that does not load, a graph ORT refuses and a run that raises each end as a status with ORT's
reason, never as an exception; the provider audit is extra information and never fails a run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from aibench_onnx.status import Status

LOAD_FAILED = "load_failed"  # ORT refused the graph itself (not the provider): the caller may diagnose


@dataclass
class ProviderRun:
    ep: str
    opt_level: str
    status: str  # ok | ep_unavailable | load_failed | failed
    reason: str = ""
    providers: list[str] = field(default_factory=list)  # what really ran, from session.get_providers()
    create_s: float | None = None
    log: list[str] = field(default_factory=list)
    casts: list[str] = field(default_factory=list)  # integer inputs cast to the graph's declared type
    outputs: list[dict[str, np.ndarray]] = field(default_factory=list)  # one per input set, by output name
    audit: dict | None = None  # nodes per provider, Memcpy nodes (from ORT's profiling of the first set)


def run_on_provider(path: str, ep: str, opt_level: str, threads: int, feeds: Iterable[dict[str, np.ndarray]],
                    provider_options: dict | None = None) -> ProviderRun:
    """Run every feed through one session; the provider audit on the first."""
    from aibench_onnx.ort.audit import audit
    from aibench_onnx.ort.session import EpUnavailable, create_session, feed_for, quiet_run_options

    result = ProviderRun(ep, opt_level, Status.OK)
    try:
        session, info = create_session(path, ep, opt_level, threads, provider_options)
    except EpUnavailable as exc:
        result.status, result.reason = Status.EP_UNAVAILABLE, str(exc)
        return result
    except Exception as exc:  # noqa: BLE001 - a graph ORT cannot load is a result
        result.status, result.reason = LOAD_FAILED, f"ONNX Runtime cannot load the graph: {exc}"
        return result
    result.providers, result.create_s, result.log = info.providers, info.create_s, info.log
    quiet = quiet_run_options()
    names = [o.name for o in session.get_outputs()]
    for index, arrays in enumerate(feeds):
        try:
            feed, casts = feed_for(session, arrays)
            values = session.run(None, feed, quiet)
        except Exception as exc:  # noqa: BLE001
            # one line, but all of it: ORT puts the useful part ("index: 1 Got: 7 Expected: 8") on later lines
            said = " ".join(str(exc).split())[:500] or type(exc).__name__
            shapes = ", ".join(f"{name} {list(a.shape)}" for name, a in arrays.items())
            result.status, result.reason = Status.FAILED, f"run failed on input set {index} ({shapes}): {said}"
            return result
        result.casts = sorted(set(result.casts) | set(casts))
        result.outputs.append(dict(zip(names, values)))
        if index == 0:
            try:
                result.audit = audit(path, ep, opt_level, threads, arrays)
            except Exception as exc:  # noqa: BLE001 - the audit is extra information, never a failure
                result.audit = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    return result


def without_contradicting_shapes(path: str, error: str) -> str | None:
    """A copy of the graph without its shape annotations (value_info), when ORT refused it with `error` because
    they contradict the graph (what some exporters write); None for any other refusal, or a graph without
    any. The copy lives in a temporary folder removed when the process exits (graph/load.save_edited_copy)."""
    if "ShapeInferenceError" not in error and "Incompatible dimensions" not in error:
        return None
    import onnx

    from aibench_onnx.graph.load import save_edited_copy, uses_external

    model = onnx.load(path, load_external_data=False)
    if not model.graph.value_info:
        return None
    external = uses_external(model)
    if external:
        model = onnx.load(path)
    del model.graph.value_info[:]
    return save_edited_copy(model, path, "no-value-info", external)
