"""Users' framework models: `pkg.module:factory` with its inputs -> the model as aibench calls it (eval mode,
inputs in order, static call arguments bound), an exported ONNX file, and native outputs as reference test data.

This imports and runs the user's code (the factory and the model), like any test of that model would.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from aibench_onnx.errors import UserError
from aibench_onnx.status import USER_ERROR  # noqa: F401 - re-exported for the workers' callers
from aibench_onnx.frameworks.user_inputs import (
    Axes,
    InputDecl,
    at_batch,
    call_input_factory,
    concrete_inputs,
    declared_axes,
    inferred_axes,
    load_npz,
)
from aibench_onnx.zoo.inputs import EXPORT_BATCH

ACCEPTED = {"torch": "a torch.nn.Module, or a factory returning one",
            "tf": "a Keras 3 model (Functional, Sequential, subclassed) or a callable tf.Module, or a factory returning one",
            "jax": "a Flax NNX module, or a factory returning one"}


@dataclass
class UserModel:
    """Everything needed to rebuild a user's model and its inputs in any process."""

    target: str  # pkg.module:factory
    framework: str
    inputs: list[InputDecl] = field(default_factory=list)  # declared inputs, or
    inputs_from: str | None = None  # pkg.module:make_inputs, a .npz file or a test_data_set directory
    call_args: dict = field(default_factory=dict)  # static keyword arguments of every call (deterministic=True)
    dims: dict[str, int] = field(default_factory=dict)  # sizes of the symbolic dims (seq=128)
    cwd: str = "."  # where pkg.module resolves, as in the user's shell
    name: str = ""
    # a causal LM timed as a decoder (zoo.decoder.DecoderIO as a dict, from its config): the model is wrapped
    # as one decoder step over a flat cache (frameworks.hf_decoder), its inputs made for the phase `dims` say
    # (seq new tokens after past cached ones, total = past + seq)
    decoder: dict | None = None
    trust_code: bool = False  # a saved artifact may run its own code (Keras Lambda layers, HF remote code)

    def __post_init__(self):
        self.inputs = [d if isinstance(d, InputDecl) else InputDecl(**d) for d in self.inputs]
        saved = ":" not in self.target or (Path(self.cwd) / self.target).exists()  # a saved model's path
        self.name = self.name or (Path(self.target.rstrip("/")).stem if saved else self.target.rpartition(":")[2])

    def to_dict(self) -> dict:
        return asdict(self)

    def arrays(self, batch: int | None = None, dims: dict[str, int] | None = None, seed: int = 0) -> dict[str, np.ndarray]:
        """Inputs at `batch` (None: the export batch) and `dims` (default: this model's)."""
        dims = self.dims if dims is None else dims
        if self.decoder is not None:
            return self._decoder_spec().make_inputs("tiny", batch or EXPORT_BATCH, seed, dims=dims)
        if self.inputs_from is None:
            return concrete_inputs(self.inputs, dims, seed, batch)
        if self.stored_inputs:
            arrays = self._stored()
            return at_batch(arrays, batch) if batch is not None else arrays
        factory = import_attribute(self.inputs_from, self.cwd, "--inputs")
        return call_input_factory(factory, self.inputs_from, batch or EXPORT_BATCH, dims, seed)

    @property
    def stored_inputs(self) -> bool:
        """Inputs from a .npz file or a test_data_set directory (else from the user's input factory)."""
        return self.inputs_from is not None and (self.inputs_from.endswith(".npz")
                                                 or (Path(self.cwd) / self.inputs_from).is_dir())

    def _stored(self) -> dict[str, np.ndarray]:
        from aibench_onnx.graph.testdata import read_named_inputs

        path = Path(self.cwd) / self.inputs_from
        return load_npz(str(path)) if self.inputs_from.endswith(".npz") else read_named_inputs(path)

    def _decoder_spec(self):
        from aibench_onnx.zoo.decoder import DecoderIO, decoder_spec

        return decoder_spec(self.name, DecoderIO.from_dict(self.decoder))

    def axes(self) -> Axes:
        """Input name -> axis -> symbolic dim name: what the export makes dynamic."""
        if self.decoder is not None:
            spec = self._decoder_spec()
            return {t.name: axes for t, axes in zip(spec.inputs, spec.dynamic_axes())}
        if self.inputs_from is None:
            return declared_axes(self.inputs)
        if self.stored_inputs:
            return {name: {0: "batch"} for name, a in self.arrays().items() if a.ndim}
        return inferred_axes(lambda batch, dims: self.arrays(batch, dims), self.dims)


def import_attribute(target: str, cwd: str, what: str):
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise UserError(f"{what} {target!r}: expected pkg.module:name")
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - the user's import error, in one line
        raise UserError(f"{target}: cannot import {module_name} ({type(exc).__name__}: {exc})") from None
    found = getattr(module, attribute, None)
    if found is None:
        raise UserError(f"{target}: {module_name} has no attribute {attribute!r}")
    return found


def load_factory_model(target: str, framework: str, cwd: str = ".", trust_code: bool = False):
    """Import `pkg.module:factory`, call it, and check it returned a model of `framework`; or load the saved
    model at the path `target` (frameworks/saved.py)."""
    from aibench_onnx.frameworks import adapter
    from aibench_onnx.frameworks.saved import detect, load_saved

    is_model = adapter(framework).is_model
    artifact = detect(target, cwd)
    if artifact is not None:
        model = load_saved(artifact, trust_code)
        if not is_model(model):
            raise UserError(f"{target}: loaded a {type(model).__name__}, not a {framework} model")
        return model
    factory = import_attribute(target, cwd, "MODEL")
    try:
        model = factory() if callable(factory) and not is_model(factory) else factory
    except Exception as exc:  # noqa: BLE001
        raise UserError(f"{target}: the factory raised {type(exc).__name__}: {exc}".splitlines()[0]) from None
    if not is_model(model):
        raise UserError(f"{target}: returned {type(model).__name__}, not a {framework} model "
                        f"(accepted: {ACCEPTED[framework]})")
    return model


def bind_model(model, framework: str, names: list[str], call_args: dict):
    """The model as every later step calls it: inference mode, inputs by position in `names` order (torch
    passes them by name where forward names them), `call_args` bound. A name no parameter takes: one line."""
    from aibench_onnx.frameworks import adapter

    try:
        return adapter(framework).bind(model, names, call_args)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def build_user_model(user: UserModel):
    """The bound model and its export-size inputs, in this process."""
    model = load_factory_model(user.target, user.framework, user.cwd, user.trust_code)
    arrays = user.arrays()
    if user.decoder is not None:
        from aibench_onnx.frameworks.hf_decoder import FlatCacheLM

        return FlatCacheLM(model), arrays  # called with the decoder's inputs in order
    return bind_model(model, user.framework, list(arrays), user.call_args), arrays
