"""TensorFlow adapter: Keras 3 models on the TF backend, called with training=False."""

from __future__ import annotations

import os
from typing import Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from aibench_onnx.prepared import Prepared, no_sync  # noqa: E402


def configure_threads(threads: int) -> None:
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass  # already initialised in this process; the first setting stands


def call(model, tensors: list):
    """Keras convention: one input is passed as itself, several as a list; Keras models (and layers) in
    inference mode (training=False), a plain tf.Module as it is."""
    import keras

    inputs = tensors[0] if len(tensors) == 1 else tensors
    return model(inputs, training=False) if isinstance(model, (keras.Layer, Bound)) else model(inputs)


class Bound:
    """A user's model with static keyword arguments bound to every call."""

    def __init__(self, model, call_args: dict):
        self.model, self.call_args = model, dict(call_args)

    @property
    def weights(self):
        return _weights(self.model)

    def __call__(self, inputs, training=False):
        import keras

        if isinstance(self.model, keras.Layer):
            return self.model(inputs, training=training, **self.call_args)
        return self.model(inputs, **self.call_args)


def bind(model, names: list[str], call_args: dict):
    """Inputs by position (Keras' convention); static call arguments bound."""
    return Bound(model, call_args) if call_args else model


def run(model, arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    result = call(model, [tf.constant(a) for a in arrays])
    result = result if isinstance(result, (tuple, list)) else (result,)
    return [np.asarray(r) for r in result]


def reduced_model(model, dtype: str, rebuild=None):
    """The model rebuilt under Keras' `dtype` policy (float16 or bfloat16: variables and computation in it; the
    weights assigned and cast): Keras fixes dtypes when layers are built, so `rebuild` builds it anew."""
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(dtype)
    try:
        return rebuild()
    finally:
        keras.config.set_dtype_policy(previous)


def assign_weights(target, source) -> None:
    """`source`'s weights into `target` (the same model built under another dtype policy), cast to its dtypes."""
    targets, sources = _weights(target), _weights(source)
    if [tuple(t.shape) for t in targets] != [tuple(s.shape) for s in sources]:
        raise ValueError("the rebuilt model's weights differ in shape from the original's")
    for weight, value in zip(targets, sources):
        weight.assign(tf.cast(value, weight.dtype))


def param_count(model) -> int:
    """All weights, trainable or not (BatchNorm moving statistics count, as in torch's buffers)."""
    return int(sum(int(np.prod(w.shape)) for w in _weights(model) if w.dtype in ("float32", "float64")))


def _weights(model) -> list:
    """A Keras model's weights; a plain tf.Module's variables."""
    return model.weights if hasattr(model, "weights") else list(model.variables)


def build(model, example_arrays: Sequence[np.ndarray]) -> None:
    """Create the model's variables by calling it once, so weights can be assigned."""
    call(model, [tf.constant(a) for a in example_arrays])


def set_weights(layer, values: Sequence[np.ndarray]) -> None:
    """Assign canonical arrays (already in Keras layout) to a built layer, insisting on exact shapes."""
    current = layer.get_weights()
    if len(current) != len(values) or any(c.shape != v.shape for c, v in zip(current, values)):
        raise ValueError(
            f"{layer.name}: native shapes {[c.shape for c in current]} vs canonical {[v.shape for v in values]}"
        )
    layer.set_weights([np.asarray(v, dtype=np.float32) for v in values])


def dense_weights(params: dict[str, np.ndarray], prefix: str, bias: bool = True) -> list[np.ndarray]:
    return [params[f"{prefix}.w"], params[f"{prefix}.b"]] if bias else [params[f"{prefix}.w"]]


def conv_weights(params: dict[str, np.ndarray], prefix: str, bias: bool = True) -> list[np.ndarray]:
    """Canonical HWIO is Keras's Conv2D layout already."""
    return dense_weights(params, prefix, bias)


def batchnorm_weights(params: dict[str, np.ndarray], prefix: str) -> list[np.ndarray]:
    return [params[f"{prefix}.{k}"] for k in ("gamma", "beta", "mean", "var")]


def layernorm_weights(params: dict[str, np.ndarray], prefix: str) -> list[np.ndarray]:
    return [params[f"{prefix}.gamma"], params[f"{prefix}.beta"]]


def nchw_to_nhwc(x):
    return tf.transpose(x, (0, 2, 3, 1))


def nhwc_to_nchw(x):
    return tf.transpose(x, (0, 3, 1, 2))


def gelu_exact(x):
    """Exact GELU through erf. Keras' own gelu lowers to Erfc, which tf2onnx cannot convert
    (tensorflow-onnx #2347); this form computes the same function and exports."""
    return 0.5 * x * (1.0 + tf.math.erf(x / np.float32(np.sqrt(2.0))))


def is_model(obj) -> bool:
    """A Keras 3 model (Functional, Sequential, subclassed: not tf.Modules) or a callable tf.Module."""
    import keras

    return isinstance(obj, (keras.Model, tf.Module)) and callable(obj)


def run_named(model, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Inputs in their order (Keras' convention), outputs flattened to stable names (frameworks/outputs.py)."""
    from aibench_onnx.frameworks.outputs import flatten_outputs

    result = call(model, [tf.constant(a) for a in inputs.values()])
    return {name: np.asarray(value) for name, value in flatten_outputs(result, tf.is_tensor).items()}


def probe_devices() -> dict:
    devices = tf.config.list_physical_devices()
    build = tf.sysconfig.get_build_info()
    return {
        "version": tf.__version__,
        "cuda_build": build.get("cuda_version"),
        "cuda_available": any(d.device_type == "GPU" for d in devices),
        "devices": [f"{d.device_type} {d.name}" for d in devices],
        "tf32": tf.config.experimental.tensor_float_32_execution_enabled(),
    }


def prepare_timed(kind: str, model, arrays: Sequence[np.ndarray], device: str) -> Prepared:
    """tf-eager, tf-function or tf-xla (tf.function with jit_compile) on device-resident inputs."""
    name = "/GPU:0" if device == "cuda" else "/CPU:0"
    with tf.device(name):
        tensors = [tf.identity(tf.constant(a)) for a in arrays]
    forward = lambda *t: call(model, list(t))  # noqa: E731
    if kind == "tf-function":
        forward = tf.function(forward)
    elif kind == "tf-xla":
        forward = tf.function(forward, jit_compile=True)

    def run():
        with tf.device(name):
            return forward(*tensors)

    if device == "cuda":
        # Reading one value back forces TF to finish the queued GPU work.
        def run_and_wait():
            from aibench_onnx.frameworks.outputs import flatten_outputs

            first = next(iter(flatten_outputs(run(), tf.is_tensor).values()))  # a dict or nested result too
            return first.numpy()

        return Prepared(run_and_wait, no_sync, {"device": name,
                                                "tf32": tf.config.experimental.tensor_float_32_execution_enabled(),
                                                "sync": "device-to-host copy of the output"})
    return Prepared(run, no_sync, {"device": name,
                                   "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads()})
