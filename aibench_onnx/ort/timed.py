"""The one timed ONNX Runtime call, used by `aibench bench` and `aibench check --bench` alike.

A session verified to run on its provider; with IO binding (the default), inputs and outputs live on the
provider's device and `sync` waits for the outputs, so a timed call excludes host<->device copies; with
CUDA graphs, each call replays one captured graph.
"""

from __future__ import annotations

import numpy as np

from aibench_onnx.prepared import GraphCall, Prepared, no_sync


def prepare_timed(call: GraphCall, arrays: dict[str, np.ndarray]) -> Prepared:
    """ONNX Runtime's entry in the runtime registry: prepare_ort for a GraphCall."""
    return prepare_ort(call.path, arrays, call.ep, call.level, call.threads, call.io_binding, call.cache_dir,
                       (call.known_info or {}).get("audit"), cuda_graph=call.cuda_graph, tf32=call.tf32)


def prepare_ort(onnx_path: str, arrays: dict[str, np.ndarray], ep: str, opt_level: str, threads: int,
                io_binding: bool, cache_dir: str, known_audit: dict | None = None,
                cuda_graph: bool = False, tf32: bool = False) -> Prepared:
    """An ORT session verified to run on `ep`; with IO binding, inputs and outputs live on the provider's
    device and `sync` waits for the outputs, so `run` excludes host<->device copies. `known_audit`: the
    provider audit of this graph/ep/level from an earlier batch (placement does not depend on the batch).
    `cuda_graph`: the CUDA provider captures the graph once and each call replays it (see _bind_fixed).
    `tf32`: the CUDA provider may use TF32 (see ort_session.cuda_options)."""
    import time

    import onnxruntime as ort

    from aibench_onnx.ort.session import create_session, cuda_options, feed_for

    options = cuda_options(tf32) if ep == "cuda" else None
    if cuda_graph:
        if ep != "cuda" or not io_binding:
            raise ValueError("CUDA graphs need the cuda provider with IO binding")
        options = {**options, "enable_cuda_graph": "1"}
    if ep == "tensorrt":
        options = {"trt_engine_cache_enable": True, "trt_engine_cache_path": cache_dir,
                   "trt_timing_cache_enable": True, "trt_timing_cache_path": cache_dir}
    started = time.perf_counter()
    session, info = create_session(onnx_path, ep, opt_level, threads, options)
    cold = {"session_create_s": time.perf_counter() - started}
    feed, casts = feed_for(session, arrays)
    from aibench_onnx.ort.audit import audit

    details = {"providers": info.providers, "io_binding": io_binding, "input_casts": casts,
               "provider_options": session.get_provider_options(),
               "audit": known_audit or audit(onnx_path, ep, opt_level, threads, arrays)}
    on_gpu = ep in ("cuda", "tensorrt")
    if not io_binding:
        return Prepared(lambda: session.run(None, feed), no_sync, details, cold)
    if cuda_graph:
        started = time.perf_counter()
        binding, buffers, details["cuda_graph"] = _bind_fixed(ort, session, feed, onnx_path, opt_level, threads,
                                                              cuda_options(tf32))
        # the capture happens here, before the loop's first call: that call is already a replay
        cold["cuda_graph_capture_s"] = time.perf_counter() - started

        def replay(session=session, binding=binding, buffers=buffers):  # the graph holds the buffers' addresses
            return session.run_with_iobinding(binding)

        return Prepared(replay, binding.synchronize_outputs, details, cold)
    device = "cuda" if on_gpu else "cpu"
    binding = session.io_binding()
    bound = []  # OrtValues on CPU wrap numpy memory: keep them alive as long as the binding
    for name, value in feed.items():
        bound.append(ort.OrtValue.ortvalue_from_numpy(value, device, 0))
        binding.bind_ortvalue_input(name, bound[-1])
    for output in session.get_outputs():
        binding.bind_output(output.name, device)
    sync = binding.synchronize_outputs if on_gpu else no_sync

    def run(session=session, binding=binding, bound=bound):
        return session.run_with_iobinding(binding)

    return Prepared(run, sync, details, cold)


def _bind_fixed(ort, session, feed: dict[str, np.ndarray], onnx_path: str, opt_level: str, threads: int,
                options: dict):
    """IO binding for CUDA graph replay: a captured graph reads and writes fixed addresses, so outputs get
    buffers of their final shape up front, taken from a plain CUDA session's run of the same feed. After the
    capture, the replayed outputs must equal that plain run's, or the timing would be of a wrong computation.
    Returns (binding, the bound device buffers, {"enabled", "max_abs_vs_plain_run"})."""
    from aibench_onnx.ort.session import create_session

    plain, _ = create_session(onnx_path, "cuda", opt_level, threads, options)
    expected = plain.run(None, feed)
    del plain
    binding = session.io_binding()
    inputs = [ort.OrtValue.ortvalue_from_numpy(value, "cuda", 0) for value in feed.values()]
    outputs = [ort.OrtValue.ortvalue_from_shape_and_type(list(value.shape), value.dtype.type, "cuda", 0)
               for value in expected]
    for name, value in zip(feed, inputs):
        binding.bind_ortvalue_input(name, value)
    for output, value in zip(session.get_outputs(), outputs):
        binding.bind_ortvalue_output(output.name, value)
    for _ in range(3):  # ORT runs a few times before it captures; the last run is a replay
        session.run_with_iobinding(binding)
    binding.synchronize_outputs()
    worst = 0.0
    for output, value, reference in zip(session.get_outputs(), outputs, expected):
        replayed = value.numpy()
        if not np.allclose(replayed, reference, rtol=1e-3, atol=1e-4, equal_nan=True):
            raise RuntimeError(f"CUDA graph replay of output {output.name} disagrees with a plain run "
                               f"(max abs {np.max(np.abs(replayed - reference)):.3g})")
        if np.issubdtype(reference.dtype, np.floating) and reference.size:
            worst = max(worst, float(np.nanmax(np.abs(replayed.astype(np.float64) - reference))))
    return binding, inputs + outputs, {"enabled": True, "max_abs_vs_plain_run": worst}
