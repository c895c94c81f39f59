"""Framework-free descriptions of the zoo's models: inputs, outputs, sizes, weights, tolerances.

Everything here is numpy only. A ModelSpec says *what* a model computes; its module in `models/` says
*how*, once per framework, with builders that import their framework inside the function body.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

from aibench_onnx.zoo.precision import JUDGEMENTS, PrecisionJudgement, judgements_per_output
from aibench_onnx.zoo.tolerance import Tolerance

FAMILIES = ("macro", "micro")
BATCH = "batch"
Dim = int | str  # a fixed size, or a name resolved from the size variant ("batch", "seq", "channels", ...)
Params = dict[str, np.ndarray]


# float32 on a GPU whose matmul/conv run in TF32 (10 mantissa bits), design §6. Used only when asked
# (--tf32): on an H200, ORT CUDA with TF32 put cnn's logits 2.6e-2 off, without it 1.1e-5.
TF32_TOLERANCE = Tolerance(1e-3, 1e-4, "float32 with TF32 on the GPU (~1e-3 relative, onnxruntime #19288)")

# Defaults per dtype (design §6); a spec may override one, but only with a reason.
DEFAULT_TOLERANCES: dict[str, Tolerance] = {
    "float64": Tolerance(1e-7, 1e-7),
    "float32": Tolerance(1e-4, 1e-5),
    "float16": Tolerance(1e-3, 2.5e-3),
    "bfloat16": Tolerance(1.6e-2, 2e-2),
    "int64": Tolerance(0.0, 0.0),
    "int32": Tolerance(0.0, 0.0),
    "bool": Tolerance(0.0, 0.0),
}


@dataclass(frozen=True)
class TensorSpec:
    """One input or output tensor: name, shape with named dims, dtype and how to draw values.

    generator: "normal" (mean 0, std `scale`), "uniform" ([low, high)), "token_ids" (int ids in
    [0, dims[vocab_dim])), "padding_mask" (1 for tokens, 0 for right padding; every row keeps at least one
    token, so attention over keys is never empty), "ones", "positions" (a decoder's new tokens' positions:
    dims["past"] + 0, 1, ... along the last axis).
    """

    name: str
    shape: tuple[Dim, ...]
    dtype: str = "float32"
    generator: str = "normal"
    scale: float = 1.0
    low: float = -1.0
    high: float = 1.0
    vocab_dim: str = "vocab"
    large_scale: float = 50.0  # the "large magnitudes" edge case multiplies value inputs by this

    def concrete_shape(self, dims: Mapping[str, int]) -> tuple[int, ...]:
        try:
            return tuple(d if isinstance(d, int) else int(dims[d]) for d in self.shape)
        except KeyError as missing:
            raise ValueError(f"{self.name}: dimension {missing} has no value") from None

    def symbolic_shape(self) -> str:
        return "[" + ", ".join(str(d) for d in self.shape) + "]"

    def generate(self, rng: np.random.Generator, dims: Mapping[str, int]) -> np.ndarray:
        shape = self.concrete_shape(dims)
        if self.generator == "normal":
            values = rng.standard_normal(shape) * self.scale
        elif self.generator == "uniform":
            values = rng.uniform(self.low, self.high, shape)
        elif self.generator == "token_ids":
            values = rng.integers(0, int(dims[self.vocab_dim]), shape)
        elif self.generator == "ones":
            values = np.ones(shape)
        elif self.generator == "positions":  # a decoder's new tokens after `past` cached ones
            values = np.broadcast_to(int(dims.get("past", 0)) + np.arange(shape[-1]), shape)
        elif self.generator == "padding_mask":
            batch, length = shape
            lengths = rng.integers(1, length + 1, batch)
            values = (np.arange(length)[None, :] < lengths[:, None])
        else:
            raise ValueError(f"{self.name}: unknown generator {self.generator!r}")
        return np.ascontiguousarray(values.astype(self.dtype))


@dataclass(frozen=True)
class DecoderInterface:
    """A decoder LM's generation interface (Hugging Face's): inputs input_ids, attention_mask (past + new
    tokens), position_ids and past.{layer}.key/value; outputs logits and present.{layer}.key/value, the cache
    (batch, kv_heads, length, head_dim) per layer. Fields name the size variant's dims (or give numbers)."""

    layers: int
    kv_heads: Dim
    head_dim: Dim
    vocab: Dim


@dataclass(frozen=True)
class ModelSpec:
    """What one zoo model computes, independent of any framework.

    sizes: variant name -> named dims (hidden width, channels, sequence length, ...); every variant also
        gets "batch" from the caller. `tiny` is for tests, `small` the default, `base` where it makes sense.
    init_params: (dims, rng) -> canonical parameters (layouts documented in `layout`).
    layout: which activation layout is canonical and where each framework transposes.
    param_count_delta: framework -> (extra native parameters, reason) when a framework's idiomatic
        layer carries parameters the function does not need (torch's LSTM has two gate biases).
    known_export_failures: framework -> why its exporter cannot export this model, naming the upstream
        issue. Such a failure is reported as known, not as a regression; if it ever exports, we say so.
    """

    name: str
    description: str
    family: str
    sizes: dict[str, dict[str, int]]
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    init_params: Callable[[Mapping[str, int], np.random.Generator], Params]
    layout: str
    tolerances: dict[str, Tolerance] = field(default_factory=dict)
    param_count_delta: dict[str, tuple[Callable[[Mapping[str, int]], int], str]] = field(default_factory=dict)
    known_export_failures: dict[str, str] = field(default_factory=dict)
    # "precision" or "precision/output" -> its verdict for this model (or one output), overriding
    # zoo/precision.JUDGEMENTS (must state its reason)
    precision_judgements: dict[str, PrecisionJudgement] = field(default_factory=dict)
    # "precision" or "precision/framework" -> why that variant fails (a measured reason, like known export failures)
    known_precision_failures: dict[str, str] = field(default_factory=dict)
    default_size: str = "small"
    notes: str = ""
    # the named dims an export keeps symbolic (a decoder's sequence and cache lengths too) -> their symbolic
    # expression (a dim another two determine, as a decoder's total length: "past + seq")
    dynamic_dims: dict[str, str] = field(default_factory=lambda: {BATCH: BATCH})
    decoder: DecoderInterface | None = None  # a decoder LM: generation is checked and timed too

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"{self.name}: family must be one of {FAMILIES}")
        if self.default_size not in self.sizes or "tiny" not in self.sizes:
            raise ValueError(f"{self.name}: needs a 'tiny' size and its default size {self.default_size!r}")
        for dtype, tolerance in self.tolerances.items():
            if tolerance.reason == DEFAULT_TOLERANCES.get(dtype, Tolerance(0, 0)).reason:
                raise ValueError(f"{self.name}: tolerance override for {dtype} must state a reason")
        for key, judgement in self.precision_judgements.items():
            precision = key.partition("/")[0]
            if precision not in JUDGEMENTS or judgement.reason == JUDGEMENTS[precision].reason:
                raise ValueError(f"{self.name}: the {key} judgement override must state a reason")

    def dims(self, size: str, batch: int) -> dict[str, int]:
        if size not in self.sizes:
            raise KeyError(size)
        return {**self.sizes[size], BATCH: batch}

    def tolerance(self, dtype: str) -> Tolerance:
        return self.tolerances.get(dtype, DEFAULT_TOLERANCES[dtype])

    def judgement(self, precision: str) -> PrecisionJudgement:
        """The precision's judgement for the model as a whole (its band, its SQNR floor)."""
        return self.precision_judgements.get(precision, JUDGEMENTS[precision])

    def judgements(self, precision: str, statistics: dict[str, str] | None = None):
        """output name -> its judgement (per-output overrides, then the user's verdict statistics)."""
        return judgements_per_output(precision, statistics, self.precision_judgements)

    def make_params(self, size: str, seed: int = 0) -> Params:
        """Canonical weights: the same seed gives the same bytes on every machine and framework."""
        rng = np.random.default_rng(seed)
        params = self.init_params(self.sizes[size], rng)
        return {name: np.ascontiguousarray(value, dtype=np.float32) for name, value in params.items()}

    def make_inputs(self, size: str, batch: int, seed: int, dims: Mapping[str, int] | None = None) -> dict[str, np.ndarray]:
        """`dims`: sizes that replace the variant's (a decoder's phase: seq, past and total for a prefill of 128
        tokens or a decode step after 48)."""
        rng = np.random.default_rng(seed)
        dims = {**self.dims(size, batch), **(dims or {})}
        return {tensor.name: tensor.generate(rng, dims) for tensor in self.inputs}

    def param_count(self, size: str) -> int:
        """Number of canonical parameters (the function's degrees of freedom, plus BatchNorm statistics).

        Counted from shapes alone, without drawing the weights (a base transformer has 100M+)."""
        params = self.init_params(self.sizes[size], _ShapeOnlyRNG())
        return int(sum(int(np.prod(value.shape)) for value in params.values()))

    def expected_native_param_count(self, size: str, framework: str) -> int:
        extra = self.param_count_delta.get(framework)
        return self.param_count(size) + (extra[0](self.sizes[size]) if extra else 0)

    def dynamic_axes(self) -> list[dict[int, str]]:
        """Per input, axis -> symbolic expression: the axes an export keeps dynamic."""
        return [{axis: self.dynamic_dims[d] for axis, d in enumerate(t.shape) if d in self.dynamic_dims}
                for t in self.inputs]

    def output_shapes(self, size: str, batch: int) -> dict[str, tuple[int, ...]]:
        dims = self.dims(size, batch)
        return {tensor.name: tensor.concrete_shape(dims) for tensor in self.outputs}


# Weight initialisers shared by the zoo: scaled so activations stay O(1) through deep stacks, which keeps
# float32 parity meaningful (exploding activations would make any tolerance pass or fail for bad reasons).
def dense_init(rng: np.random.Generator, fan_in: int, fan_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Dense weight in canonical (in, out) layout, and bias (out,)."""
    weight = rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)
    bias = rng.standard_normal(fan_out) * 0.1
    return weight, bias


def conv_init(rng: np.random.Generator, kh: int, kw: int, c_in: int, c_out: int) -> np.ndarray:
    """Convolution kernel in canonical HWIO (kh, kw, in, out) layout."""
    return rng.standard_normal((kh, kw, c_in, c_out)) * np.sqrt(2.0 / (kh * kw * c_in))


def batchnorm_init(rng: np.random.Generator, prefix: str, channels: int) -> Params:
    """BatchNorm gamma/beta and non-trivial running statistics, so inference mode is really tested."""
    return {
        f"{prefix}.gamma": 1.0 + 0.1 * rng.standard_normal(channels),
        f"{prefix}.beta": 0.1 * rng.standard_normal(channels),
        f"{prefix}.mean": 0.1 * rng.standard_normal(channels),
        f"{prefix}.var": rng.uniform(0.5, 1.5, channels),
    }


def layernorm_init(rng: np.random.Generator, prefix: str, width: int) -> Params:
    return {f"{prefix}.gamma": 1.0 + 0.1 * rng.standard_normal(width), f"{prefix}.beta": 0.1 * rng.standard_normal(width)}


def pre_ln_block_init(rng: np.random.Generator, prefix: str, width: int) -> Params:
    """A pre-LayerNorm transformer block: ln1, attention q/k/v/o (width, width), ln2, MLP fc1 (4x) and fc2."""
    params = dict(layernorm_init(rng, f"{prefix}.ln1", width))
    for proj in ("q", "k", "v", "o"):
        params[f"{prefix}.attn.{proj}.w"], params[f"{prefix}.attn.{proj}.b"] = dense_init(rng, width, width)
    params.update(layernorm_init(rng, f"{prefix}.ln2", width))
    params[f"{prefix}.fc1.w"], params[f"{prefix}.fc1.b"] = dense_init(rng, width, 4 * width)
    params[f"{prefix}.fc2.w"], params[f"{prefix}.fc2.b"] = dense_init(rng, 4 * width, width)
    return params


class _ShapeOnly:
    """Stands in for an array during parameter counting: arithmetic keeps the shape, allocates nothing."""

    def __init__(self, shape) -> None:
        self.shape = tuple(np.atleast_1d(shape)) if not isinstance(shape, tuple) else shape

    def _same(self, *_args):
        return self

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __neg__ = _same


class _ShapeOnlyRNG:
    """The slice of numpy's Generator API that initialisers use, returning shapes instead of numbers."""

    def standard_normal(self, shape=()):
        return _ShapeOnly(shape if isinstance(shape, tuple) else (int(shape),))

    def uniform(self, low=0.0, high=1.0, size=()):
        return _ShapeOnly(size if isinstance(size, tuple) else (int(size),))
