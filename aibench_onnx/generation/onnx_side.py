"""The graph runtime's process of a generation check: the exported decoder on ONNX Runtime, per provider and
optimization level, judged against the native reference and against itself (generation.check)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aibench_onnx.generation.check import GenerationCheck, Reference, check_runtime
from aibench_onnx.generation.requests import GraphGenerationRequest
from aibench_onnx.runtimes import GRAPH_RUNTIMES
from aibench_onnx.status import Status
from aibench_onnx.zoo.decoder import DecoderIO

if TYPE_CHECKING:
    import numpy as np

# The graph runtime this process drives (ONNX Runtime's sessions): the registry entry that says it generates.
(GENERATING,) = [kind for kind, entry in GRAPH_RUNTIMES.items() if entry.generates]


def ort_step(session, casts: set[str]):
    """A decoder step on an ONNX Runtime session: feeds cast to the graph's integer types (jax2onnx declares
    int32 ids), outputs by name."""
    from aibench_onnx.ort.session import feed_for

    names = [o.name for o in session.get_outputs()]

    def step(feed: dict[str, np.ndarray]) -> dict:
        ready, cast = feed_for(session, feed)
        casts.update(cast)
        return dict(zip(names, session.run(None, ready)))

    return step


def run_ort_generation(document: dict) -> dict:
    """A GraphGenerationRequest -> {"checks": [a GenerationCheck per provider and level]}."""
    from aibench_onnx.ort.session import EpUnavailable, create_session

    request = GraphGenerationRequest.from_dict(document)
    io = DecoderIO.from_dict(request.io)
    reference = Reference.load(request.reference)
    checks = []
    for ep in request.eps:
        for level in request.levels:
            result = GenerationCheck(GENERATING, ep, level)
            try:
                session, info = create_session(request.graph, ep, level, request.threads)
            except EpUnavailable as exc:
                result.status, result.reason = Status.EP_UNAVAILABLE, str(exc)
                checks.append(result.to_dict())
                continue
            except Exception as exc:  # noqa: BLE001 - a graph ORT refuses is a result
                result.status, result.reason = Status.FAILED, " ".join(f"ONNX Runtime cannot load the graph: {exc}".split())[:500]
                checks.append(result.to_dict())
                continue
            result.providers = info.providers
            casts: set[str] = set()
            try:
                check_runtime(ort_step(session, casts), io, reference, request.rtol, request.atol, result,
                              tuple(request.native_faults))
            except Exception as exc:  # noqa: BLE001 - a step ORT cannot run is a result
                result.status = Status.FAILED
                result.reason = " ".join(f"a generation step failed: {exc}".split())[:500]
            result.casts = sorted(casts)
            checks.append(result.to_dict())
    return {"status": Status.OK, "checks": checks}
