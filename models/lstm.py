"""Macro: an LSTM sequence classifier — stacked LSTM layers over (batch, seq, features), the last hidden
state of the top layer, a linear head.

Canonical gate order is (input, forget, cell, output), PyTorch's and Keras' order; Flax keeps one dense
layer per gate (an nnx.LSTMCell, scanned with jax.lax.scan). Canonical parameters carry one gate bias;
torch's nn.LSTM carries two (bias_ih and bias_hh, summed), so torch loads the bias into bias_ih and zeros
into bias_hh and has 4*hidden more parameters per layer than the function needs — declared below.
"""

from __future__ import annotations

import numpy as np

from aibench_onnx.zoo.spec import BATCH, ModelSpec, TensorSpec, dense_init

GATES = ("i", "f", "g", "o")


def init_params(dims, rng):
    hidden, params = dims["hidden"], {}
    for layer in range(dims["layers"]):
        fan_in = dims["features"] if layer == 0 else hidden
        params[f"l{layer}.w_ih"] = rng.standard_normal((fan_in, 4 * hidden)) / np.sqrt(fan_in)
        params[f"l{layer}.w_hh"] = rng.standard_normal((hidden, 4 * hidden)) / np.sqrt(hidden)
        params[f"l{layer}.b"] = 0.1 * rng.standard_normal(4 * hidden)
    params["head.w"], params["head.b"] = dense_init(rng, hidden, dims["classes"])
    return params


SPEC = ModelSpec(
    name="lstm",
    description="Stacked LSTM sequence classifier: last hidden state of the top layer -> linear head",
    family="macro",
    sizes={"tiny": {"features": 4, "seq": 6, "hidden": 8, "layers": 1, "classes": 3},
           "small": {"features": 32, "seq": 64, "hidden": 128, "layers": 2, "classes": 5},
           "base": {"features": 64, "seq": 256, "hidden": 512, "layers": 2, "classes": 10}},
    inputs=(TensorSpec("x", (BATCH, "seq", "features")),),
    outputs=(TensorSpec("logits", (BATCH, "classes")),),
    init_params=init_params,
    layout="(batch, seq, features) batch-first everywhere. Canonical w_ih (in, 4H), w_hh (H, 4H), gate "
    "order i, f, g, o: Keras uses them as is, torch transposes, Flax splits per gate",
    param_count_delta={
        "torch": (lambda dims: 4 * dims["hidden"] * dims["layers"],
                  "nn.LSTM has a second gate bias (bias_hh) per layer; loaded as zeros"),
    },
)


def build_torch(params, dims):
    from torch import nn

    from aibench_onnx.frameworks import torch_fw

    class LSTMClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(dims["features"], dims["hidden"], num_layers=dims["layers"], batch_first=True)
            self.head = nn.Linear(dims["hidden"], dims["classes"])
            for layer in range(dims["layers"]):
                torch_fw.load(getattr(self.lstm, f"weight_ih_l{layer}"), params[f"l{layer}.w_ih"].T)
                torch_fw.load(getattr(self.lstm, f"weight_hh_l{layer}"), params[f"l{layer}.w_hh"].T)
                torch_fw.load(getattr(self.lstm, f"bias_ih_l{layer}"), params[f"l{layer}.b"])
                torch_fw.load(getattr(self.lstm, f"bias_hh_l{layer}"), np.zeros(4 * dims["hidden"], np.float32))
            torch_fw.load_linear(self.head, params, "head")

        def forward(self, x):
            _, (hidden, _) = self.lstm(x)
            return self.head(hidden[-1])

    return LSTMClassifier().eval()


def build_tf(params, dims):
    import keras

    from aibench_onnx.frameworks import tf_fw

    layers = [keras.layers.LSTM(dims["hidden"], return_sequences=index < dims["layers"] - 1)
              for index in range(dims["layers"])]
    head = keras.layers.Dense(dims["classes"])
    model = keras.Sequential(layers + [head])
    tf_fw.build(model, [np.zeros((1, dims["seq"], dims["features"]), np.float32)])
    for index, layer in enumerate(layers):
        tf_fw.set_weights(layer, [params[f"l{index}.w_ih"], params[f"l{index}.w_hh"], params[f"l{index}.b"]])
    tf_fw.set_weights(head, tf_fw.dense_weights(params, "head"))
    return model


def build_jax(params, dims):
    import jax
    import jax.numpy as jnp
    from flax import nnx

    from aibench_onnx.frameworks import jax_fw

    hidden = dims["hidden"]

    def load_cell(cell, layer):
        w_ih, w_hh, bias = (params[f"l{layer}.{name}"] for name in ("w_ih", "w_hh", "b"))
        inputs = (cell.ii, cell.if_, cell.ig, cell.io)
        recurrent = (cell.hi, cell.hf, cell.hg, cell.ho)
        for gate, (x_proj, h_proj) in enumerate(zip(inputs, recurrent)):
            columns = slice(gate * hidden, (gate + 1) * hidden)
            jax_fw.load(x_proj.kernel, w_ih[:, columns])
            jax_fw.load(h_proj.kernel, w_hh[:, columns])
            jax_fw.load(h_proj.bias, bias[columns])

    class LSTMClassifier(nnx.Module):
        def __init__(self):
            sizes = [dims["features"]] + [hidden] * dims["layers"]
            self.cells = nnx.List([jax_fw.blank(nnx.LSTMCell, i, hidden) for i in sizes[:-1]])
            self.head = jax_fw.blank(nnx.Linear, hidden, dims["classes"])
            for layer, cell in enumerate(self.cells):
                load_cell(cell, layer)
            jax_fw.load_linear(self.head, params, "head")

        def __call__(self, x):
            steps = jnp.swapaxes(x, 0, 1)  # time-major for lax.scan
            for cell in self.cells:
                # jax.lax.scan over the cell, from a zero carry. (nnx.RNN draws its initial carry from an
                # RNG stream and lifts state through nnx.scan, which jax2onnx's trace cannot follow.)
                zeros = jnp.zeros((x.shape[0], hidden), x.dtype)
                _, steps = jax.lax.scan(lambda carry, x_t: cell(carry, x_t), (zeros, zeros), steps)
            return self.head(steps[-1])

    return LSTMClassifier()
