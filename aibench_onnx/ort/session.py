"""ONNX Runtime sessions for one execution provider at one graph optimization level, verified.

A session is only ever labelled with the provider that really runs it: after creation we check
`session.get_providers()[0]`; if ORT fell back (CUDA libraries missing, TensorRT absent), the caller gets
EpUnavailable with ORT's own reason, never a CPU session labelled CUDA.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from aibench_onnx.capture import captured_stderr_fd
from aibench_onnx.keys import LEVEL_WORDS

EXECUTION_PROVIDERS = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
}
OPT_LEVELS = LEVEL_WORDS  # the words labels carry (keys.RuntimeConfig.from_label reads them)


class EpUnavailable(Exception):
    """The requested execution provider did not load; the message is ORT's reason."""


@dataclass
class SessionInfo:
    ep: str
    opt_level: str
    threads: int
    providers: list[str] = field(default_factory=list)  # session.get_providers(): what really runs
    create_s: float | None = None
    log: list[str] = field(default_factory=list)  # ORT's warnings while building the session


def _graph_optimization_level(ort, level: str):
    return {
        "disabled": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }[level]


def runtime_version() -> str:
    """ONNX Runtime's version, as a reproduction names it."""
    import onnxruntime

    return onnxruntime.__version__


def cuda_options(tf32: bool) -> dict:
    """ORT's CUDA provider computes float32 matmul and conv in TF32 by default (use_tf32=1). Measured on an
    H200: cnn's logits 2.6e-2 off with it, 1.1e-5 without — TF32 rounding would hide (or fake) a graph
    difference. aibench runs CUDA without TF32 unless asked (--tf32), in parity and timing alike, so the
    timed configuration is the one whose numerics were checked."""
    return {"use_tf32": "1" if tf32 else "0"}


def provider_chain(ep: str, provider_options: dict | None = None) -> list:
    """TensorRT runs what it can and leaves the rest to CUDA, as ORT recommends; CPU is implicit."""
    options = provider_options or {}
    if ep == "tensorrt":
        return [("TensorrtExecutionProvider", options), ("CUDAExecutionProvider", cuda_options(False))]
    if ep == "cuda":
        return [("CUDAExecutionProvider", {**cuda_options(False), **options})]
    return [(EXECUTION_PROVIDERS[ep], options)]


def quiet_run_options():
    """RunOptions under which a failing kernel's error comes back in the exception only, not also as a coloured
    line on stderr."""
    import onnxruntime as ort

    options = ort.RunOptions()
    options.log_severity_level = 4
    return options


_SHARED_POOL_THREADS: int | None = None  # set by share_one_thread_pool in a timing process


def share_one_thread_pool(threads: int) -> None:
    """One intra-op thread pool of `threads` for every session this process creates (a timing process holds
    every graph, level and precision of a model on one provider, sampled side by side): with a pool each, an
    idle session's pool spins after its runs and competes with the session being measured. Measured on a
    2-vCPU VM, four sessions of a 4.7 MB detector alternating call by call: 65 ms per call, IQR 24 %, A/A
    ratio sd 0.31 with a pool each; 22.6 ms, IQR 12 %, sd 0.095 with one pool of the same 2 threads. The
    measured quantity stays the same: the thread count and spinning policy of a session's own pool (one
    session alone: 32.0 ms with its own pool, 34.7 ms with the shared one, inside this machine's 16 % IQR).
    Call before the process creates its first session."""
    global _SHARED_POOL_THREADS
    from onnxruntime.capi import _pybind_state

    _pybind_state.set_global_thread_pool_sizes(threads, 1)
    _SHARED_POOL_THREADS = threads


def set_threads(options, threads: int) -> None:
    """`threads` intra-op threads for a session, or the process's one pool once share_one_thread_pool made it
    (then every session must use it: ORT refuses a pool of a session's own beside the global one)."""
    if _SHARED_POOL_THREADS is not None:
        options.use_per_session_threads = False
    else:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1


def create_session(path: str, ep: str, opt_level: str, threads: int, provider_options: dict | None = None,
                   profile_prefix: str | None = None, optimized_path: str | None = None):
    """(session, SessionInfo) for `ep` at `opt_level`, or EpUnavailable when the provider did not load.
    `profile_prefix`: profile every run (ORT's trace, written at end_profiling); `optimized_path`: write the graph
    as the optimizer left it at this level (explain/)."""
    import time

    import onnxruntime as ort

    from aibench_onnx.ort.cuda_libs import preload_pip_cuda_libraries
    from aibench_onnx.ort.probe import failure_reason

    if ep != "cpu":
        preload_pip_cuda_libraries()
    options = ort.SessionOptions()
    options.graph_optimization_level = _graph_optimization_level(ort, opt_level)
    set_threads(options, threads)
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 2
    if profile_prefix:
        options.enable_profiling, options.profile_file_prefix = True, profile_prefix
    if optimized_path:
        options.optimized_model_filepath = optimized_path
    info = SessionInfo(ep=ep, opt_level=opt_level, threads=threads)
    requested = EXECUTION_PROVIDERS[ep]
    started = time.perf_counter()
    error = None
    with captured_stderr_fd() as log:
        try:
            session = ort.InferenceSession(path, sess_options=options, providers=provider_chain(ep, provider_options))
        except Exception as exc:  # noqa: BLE001 - ORT raises its own exception types
            error = f"{type(exc).__name__}: {exc}"
    info.create_s = time.perf_counter() - started
    info.log = log[-20:]
    if error is not None:
        if any("Failed to load library" in line or "cannot open shared object" in line for line in log):
            raise EpUnavailable(failure_reason(log, None))
        raise RuntimeError(error.strip().splitlines()[0][:500])
    info.providers = session.get_providers()
    if info.providers[0] != requested:
        raise EpUnavailable(failure_reason(log, None) + f" (session runs {info.providers[0]})")
    return session, info


def refusal_on_load(path: str) -> str:
    """Why ONNX Runtime's CPU provider refuses the file with all optimizations (whose passes re-infer shapes,
    which level disabled does not), in one line; "" when it loads."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    try:
        ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        return ""
    except Exception as exc:  # noqa: BLE001 - the refusal is the answer
        return " ".join(str(exc).split())


def feed_for(session, arrays: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], list[str]]:
    """Match feeds to the session's declared inputs (see graph.load.cast_to_declared)."""
    from aibench_onnx.graph.load import cast_to_declared

    return cast_to_declared([(i.name, _ORT_TYPES.get(i.type), i.type) for i in session.get_inputs()], arrays)


_ORT_TYPES = {
    "tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16,
    "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(int8)": np.int8, "tensor(uint8)": np.uint8,
    "tensor(bool)": np.bool_,
}


def ort_runner(ep: str, opt_level: str, threads: int = 1):
    """A localization runner (parity.localize.Runner): (model path, feed, output names) -> outputs."""
    def run(path: str, feed: dict[str, np.ndarray], names: list[str]) -> dict:
        session, _ = create_session(path, ep, opt_level, threads)
        values = session.run(names, feed_for(session, feed)[0])
        return dict(zip(names, values))

    return run


def missing_kernel(precision: str, ep: str, error: str) -> str | None:
    """The reason, when ONNX Runtime refused a reduced-precision graph because the provider has no kernel for
    one of its ops in that type (its CPU provider has no bf16 MatMul or Add): a combination this provider does
    not support, not a broken graph."""
    import re

    from aibench_onnx.zoo.precision import is_reduced

    found = re.search(r"NOT_IMPLEMENTED.*?Could not find an implementation for (\S+?\(\d+\))", error)
    if not is_reduced(precision) or found is None:
        return None
    where = " (ONNX Runtime's CUDA provider has bf16 kernels)" if precision == "bf16" and ep == "cpu" else ""
    return f"ONNX Runtime's {ep} provider has no {precision} kernel for {found[1]}{where}"
