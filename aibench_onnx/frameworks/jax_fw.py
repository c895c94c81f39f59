"""JAX adapter: Flax NNX modules, called jitted (as JAX users run them).

Called op by op instead, XLA compiles every primitive for every input shape it meets: the JAX zoo's parity
process compiled 1,304 kernels (39 s of its 61 s); jitted, each model compiles once per shape (31 s in all).
The outputs agree with the op-by-op ones within float32 rounding (≤ 5e-7 on the zoo)."""

from __future__ import annotations

import inspect
import weakref
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from aibench_onnx.prepared import Prepared


def configure_threads(threads: int) -> None:
    # XLA's CPU thread pool is sized from XLA_FLAGS before jax initialises; the worker sets it.
    pass


# model -> its jitted call (_jit): compiled once per model and input shape, forgotten with the model.
_JITTED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def run(model, arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    if model not in _JITTED:
        _JITTED[model] = _jit(model)
    forward, state = _JITTED[model]
    result = forward(state, *[jnp.asarray(a) for a in arrays])
    result = result if isinstance(result, (tuple, list)) else (result,)
    return [np.asarray(jax.block_until_ready(r)) for r in result]


def _jit(model):
    """(forward, state): the NNX module split into graph and state, the merge-and-call jitted (compiled once per
    shape); forward(state, *inputs)."""
    graphdef, state = nnx.split(model)

    @jax.jit
    def forward(state, *inputs):
        return nnx.merge(graphdef, state)(*inputs)

    return forward, state


def jitted(model):
    """The NNX module's call jitted (_jit): numpy arrays in, numpy arrays out."""
    forward, state = _jit(model)

    def call(arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
        result = forward(state, *[jnp.asarray(a) for a in arrays])
        result = result if isinstance(result, (tuple, list)) else (result,)
        return [np.asarray(r) for r in result]

    return call


def reduced_model(model, dtype: str, rebuild=None):
    """The model with its float parameters in `dtype` (float16 or bfloat16: JAX computes in the dtype of its
    operands; `run` takes inputs in it)."""
    graphdef, state = nnx.split(model)
    state = jax.tree.map(lambda x: x.astype(jnp.dtype(dtype)) if jnp.issubdtype(x.dtype, jnp.floating) else x, state)
    return nnx.merge(graphdef, state)


def param_count(model) -> int:
    """nnx.Param plus nnx.BatchStat (BatchNorm running statistics)."""
    state = nnx.state(model, nnx.Param, nnx.BatchStat)
    return int(sum(leaf.size for leaf in jax.tree.leaves(state)))


def blank(layer_type: type, *args, **kwargs):
    """A Flax NNX layer whose every weight the builder then loads (the canonical values): constructed with
    zeros for each `*_init`. Flax's random initializers compile XLA kernels per weight shape — 1.4 s a conv
    layer here, 9.5 s of the tiny unet's 9.6-s build, in every JAX process — for values that are overwritten."""
    zeros = {name: nnx.initializers.zeros for name in inspect.signature(layer_type.__init__).parameters
             if name.endswith("_init")}
    return layer_type(*args, **{**zeros, **kwargs}, rngs=nnx.Rngs(0))


def load(variable, value: np.ndarray) -> None:
    if tuple(variable.get_value().shape) != value.shape:
        raise ValueError(f"shape mismatch: native {tuple(variable.get_value().shape)} vs canonical {value.shape}")
    variable.set_value(jnp.asarray(value, dtype=jnp.float32))


def load_linear(layer: nnx.Linear, params: dict[str, np.ndarray], prefix: str) -> None:
    """Canonical dense (in, out) is Flax's kernel layout already."""
    load(layer.kernel, params[f"{prefix}.w"])
    if layer.bias is not None:
        load(layer.bias, params[f"{prefix}.b"])


def load_conv(layer: nnx.Conv, params: dict[str, np.ndarray], prefix: str) -> None:
    """Canonical HWIO is Flax's kernel layout (depthwise: canonical HW1C is HWIO with I=1)."""
    load(layer.kernel, params[f"{prefix}.w"])
    if layer.bias is not None:
        load(layer.bias, params[f"{prefix}.b"])


def load_batchnorm(layer: nnx.BatchNorm, params: dict[str, np.ndarray], prefix: str) -> None:
    load(layer.scale, params[f"{prefix}.gamma"])
    load(layer.bias, params[f"{prefix}.beta"])
    load(layer.mean, params[f"{prefix}.mean"])
    load(layer.var, params[f"{prefix}.var"])


def load_layernorm(layer: nnx.LayerNorm, params: dict[str, np.ndarray], prefix: str) -> None:
    load(layer.scale, params[f"{prefix}.gamma"])
    load(layer.bias, params[f"{prefix}.beta"])


def nchw_to_nhwc(x):
    return jnp.transpose(x, (0, 2, 3, 1))


def nhwc_to_nchw(x):
    return jnp.transpose(x, (0, 3, 1, 2))


def is_model(obj) -> bool:
    return isinstance(obj, nnx.Module) and callable(obj)


def bind(model, names: list[str], call_args: dict):
    """Inference mode (nnx's eval(): dropout deterministic, batch norm on running statistics), inputs by
    position, static call arguments (deterministic=True) bound in a module of its own, so nnx.split and
    jax2onnx still see one NNX module."""
    if hasattr(model, "eval"):
        model.eval()
    if not call_args:
        return model
    bound_args = dict(call_args)

    class Bound(nnx.Module):
        def __init__(self, inner):
            self.inner = inner

        def __call__(self, *inputs):
            return self.inner(*inputs, **bound_args)

    return Bound(model)


def run_named(model, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Inputs in their order, outputs flattened to stable names (frameworks/outputs.py)."""
    from aibench_onnx.frameworks.outputs import flatten_outputs

    result = model(*[jnp.asarray(a) for a in inputs.values()])
    leaves = flatten_outputs(result, lambda node: isinstance(node, jax.Array))
    return {name: np.asarray(jax.block_until_ready(value)) for name, value in leaves.items()}


def probe_devices() -> dict:
    devices = jax.devices()
    return {
        "version": jax.__version__,
        "default_backend": jax.default_backend(),
        "cuda_available": any(d.platform == "gpu" for d in devices),
        "devices": [f"{d.platform}:{d.id} {d.device_kind}" for d in devices],
    }


def prepare_timed(kind: str, model, arrays: Sequence[np.ndarray], device: str) -> Prepared:
    """jax-jit: the NNX module split into graph and state, the merge-and-call jitted, state on the device."""
    target = jax.devices("gpu")[0] if device == "cuda" else jax.devices("cpu")[0]
    tensors = [jax.device_put(a, target) for a in arrays]
    forward, state = _jit(model)
    state = jax.device_put(state, target)
    last: list = [None]

    def run():
        last[0] = forward(state, *tensors)
        return last[0]

    def sync():
        jax.block_until_ready(last[0])

    info = {"device": str(target), "precision": str(jax.config.jax_default_matmul_precision)}
    return Prepared(run, sync, info)
