"""Models as their frameworks save them, given by path: a Hugging Face `save_pretrained` folder, a Keras `.keras`
or `.h5` file, a TensorFlow SavedModel folder, a `torch.export` `.pt2` archive, a TorchScript `.pt`/`.jit` file.

Detected by content, not by name (a folder's `config.json` or `saved_model.pb`, a zip archive's entries, the HDF5
signature). Loaded without running code from the artifact unless the user opts in: Keras in `safe_mode` (a Lambda
layer's Python is refused), transformers with `trust_remote_code=False` (a config naming remote code is refused),
no pickle of arbitrary objects (a plain `torch.save` file is refused; `torch.export.load` and `torch.jit.load`
read their own formats). The inputs come from the artifact's own signature where it records one (Keras inputs,
a SavedModel's serving signature, a `.pt2`'s example inputs and symbolic dims, a Hugging Face config), else from
`--input` as for a factory.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from aibench_onnx.errors import ExitCode, UserError
from aibench_onnx.graph.input_decl import InputDecl

KINDS = {"hf-folder": ("torch", "a Hugging Face save_pretrained folder"),
         "keras": ("tf", "a Keras model file"), "savedmodel": ("tf", "a TensorFlow SavedModel folder"),
         "torch-export": ("torch", "a torch.export archive (.pt2)"), "torchscript": ("torch", "a TorchScript file")}
TRUST_HELP = "--trust-artifact-code"


@dataclass(frozen=True)
class SavedArtifact:
    path: str
    kind: str  # a key of KINDS

    @property
    def framework(self) -> str:
        return KINDS[self.kind][0]

    @property
    def description(self) -> str:
        return KINDS[self.kind][1]


SAVED_SUFFIXES = (".pt", ".pt2", ".jit", ".keras", ".h5")


def is_saved_model(target: str, cwd: str = ".") -> bool:
    """Whether `target` names a saved model (a folder, a zip or HDF5 file, or a missing path with a saved
    model's suffix) rather than an ONNX file or a pkg.module:factory. Reads 8 bytes at most."""
    path = Path(cwd) / target
    if not path.exists():
        return target.endswith(SAVED_SUFFIXES)
    if path.is_dir():
        return True
    with path.open("rb") as handle:
        return handle.read(8).startswith((b"PK", b"\x89HDF"))  # an ONNX protobuf starts with field 1's tag


def detect(target: str, cwd: str = ".") -> SavedArtifact | None:
    """The saved model at `target`, or None when `target` is no path (a pkg.module:factory). A path that is no
    model aibench can load is one line."""
    path = Path(cwd) / target
    if not path.exists():
        if ":" in target and not target.endswith(SAVED_SUFFIXES):
            return None
        raise UserError(f"{target}: no such file or folder")
    if path.is_dir():
        if (path / "config.json").is_file():
            return SavedArtifact(str(path), "hf-folder")
        if (path / "saved_model.pb").is_file():
            return SavedArtifact(str(path), "savedmodel")
        raise UserError(f"{target}: a folder without config.json (Hugging Face) or saved_model.pb (SavedModel): "
                        "not a saved model aibench can load")
    head = path.read_bytes()[:8]
    if head.startswith(b"\x89HDF"):
        return SavedArtifact(str(path), "keras")
    if not head.startswith(b"PK"):
        raise UserError(f"{target}: not a saved model aibench can load (expected a .keras/.h5 file, a .pt2 or "
                        "TorchScript archive, or a model folder)")
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise UserError(f"{target}: a truncated or corrupt archive ({exc})") from None
    entries = {name.split("/", 1)[-1] for name in names}
    if {"config.json", "model.weights.h5"} <= entries:
        return SavedArtifact(str(path), "keras")
    if "archive_format" in entries and any(name.startswith("models/") for name in entries):
        return SavedArtifact(str(path), "torch-export")
    if "constants.pkl" in entries and any(name.startswith("code/") for name in entries):
        return SavedArtifact(str(path), "torchscript")
    if "data.pkl" in entries:
        raise UserError(f"{target}: a pickled torch.save file, not TorchScript nor torch.export: aibench does not "
                        "unpickle arbitrary objects — save it with torch.jit.save or torch.export.save, or give "
                        "a factory (pkg.module:build)")
    raise UserError(f"{target}: a zip archive that is no saved model aibench knows")


def load_saved(artifact: SavedArtifact, trust_code: bool = False):
    """The model, loaded by its framework's own call; `trust_code`: let the artifact run its own code (Keras
    Lambda layers, Hugging Face remote code)."""
    try:
        return _LOADERS[artifact.kind](artifact, trust_code)
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - the framework's reason, one line
        said = " ".join(str(exc).split())[:300]
        hint = f" (if you trust it, {TRUST_HELP} lets it run its own code)" if "safe_mode" in said else ""
        raise UserError(f"{artifact.path}: cannot load {artifact.description}: {type(exc).__name__}: {said}{hint}") \
            from None


def _load_hf(artifact: SavedArtifact, trust_code: bool):
    config = _hf_config(artifact)
    if config.get("auto_map") and not trust_code:
        raise UserError(f"{artifact.path}: its config.json names remote code (auto_map: "
                        f"{', '.join(sorted(config['auto_map']))}); aibench does not run it unless you pass "
                        f"{TRUST_HELP}")
    try:
        import transformers
    except ImportError:
        raise UserError(f"{artifact.path}: a Hugging Face folder needs transformers: pip install "
                        "'aibench-onnx[hf]'", ExitCode.ENVIRONMENT) from None
    architecture = (config.get("architectures") or [None])[0]
    model_class = getattr(transformers, architecture, None) if architecture else None
    if model_class is None:
        raise UserError(f"{artifact.path}: config.json names architecture {architecture!r}, which transformers "
                        f"{transformers.__version__} does not have")
    if not any(any(Path(artifact.path).glob(pattern)) for pattern in ("*.safetensors", "pytorch_model*.bin")):
        raise UserError(f"{artifact.path}: no saved weights (model.safetensors or pytorch_model.bin); aibench never "
                        "invents random weights for a saved model")
    return model_class.from_pretrained(artifact.path, trust_remote_code=trust_code).eval()


def _hf_config(artifact: SavedArtifact) -> dict:
    try:
        return json.loads((Path(artifact.path) / "config.json").read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"{artifact.path}/config.json: not readable JSON ({exc})") from None


def _load_keras(artifact: SavedArtifact, trust_code: bool):
    import keras

    return keras.saving.load_model(artifact.path, safe_mode=not trust_code, compile=False)


def _load_savedmodel(artifact: SavedArtifact, trust_code: bool):
    """The serving signature as a callable tf.Module taking its inputs by position, in the signature's order
    (the order its inputs are declared in, `signature_inputs`)."""
    import tensorflow as tf

    loaded = tf.saved_model.load(artifact.path)
    function = _serving(loaded, artifact)
    names = sorted(function.structured_input_signature[1])  # the order signature_inputs declares them in

    class Serving(tf.Module):
        def __init__(self):
            super().__init__(name="serving_default")
            self.loaded = loaded  # keeps the variables the signature captures alive and tracked

        def __call__(self, *tensors):
            if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
                tensors = tuple(tensors[0])  # Keras' convention: several inputs as one list
            return function(**dict(zip(names, tensors)))

    return Serving()


def _serving(loaded, artifact: SavedArtifact):
    if "serving_default" not in loaded.signatures:
        raise UserError(f"{artifact.path}: the SavedModel has no serving_default signature (it has: "
                        f"{', '.join(loaded.signatures) or 'none'})")
    return loaded.signatures["serving_default"]


def _serving_specs(artifact: SavedArtifact) -> dict:
    import tensorflow as tf

    specs = _serving(tf.saved_model.load(artifact.path), artifact).structured_input_signature[1]
    return {name: specs[name] for name in sorted(specs)}  # by name: one order in every process


def _load_torch_export(artifact: SavedArtifact, trust_code: bool):
    import torch

    return torch.export.load(artifact.path).module()


def _load_torchscript(artifact: SavedArtifact, trust_code: bool):
    import torch

    return torch.jit.load(artifact.path, map_location="cpu").eval()


_LOADERS = {"hf-folder": _load_hf, "keras": _load_keras, "savedmodel": _load_savedmodel,
            "torch-export": _load_torch_export, "torchscript": _load_torchscript}


@dataclass(frozen=True)
class SignatureInputs:
    """What an artifact says about its inputs: declarations (symbolic dims by name), the sizes its symbolic dims
    had when it was saved (defaults for --dim), and static call arguments it needs."""

    decls: tuple[InputDecl, ...]
    dims: tuple[tuple[str, int], ...] = ()
    call_args: tuple[tuple[str, object], ...] = ()
    note: str = ""


def signature_inputs(artifact: SavedArtifact, trust_code: bool = False) -> SignatureInputs | None:
    """The inputs the artifact records, or None (TorchScript records none: --input is needed)."""
    if artifact.kind == "hf-folder":
        return _hf_inputs(artifact)
    if artifact.kind == "keras":
        model = load_saved(artifact, trust_code)
        return _from_shapes([(t.name, tuple(t.shape), str(t.dtype)) for t in model.inputs], "the Keras model's inputs")
    if artifact.kind == "savedmodel":
        specs = _serving_specs(artifact)
        return _from_shapes([(name, tuple(spec.shape), spec.dtype.name) for name, spec in specs.items()],
                            "the serving signature")
    if artifact.kind == "torch-export":
        return _pt2_inputs(artifact)
    return None


def _from_shapes(shapes: list[tuple[str, tuple, str]], note: str) -> SignatureInputs:
    decls = []
    for name, shape, dtype in shapes:
        dims = ["batch" if axis == 0 and size is None else f"{name}_dim{axis}" if size is None else int(size)
                for axis, size in enumerate(shape)]
        decls.append(InputDecl(name, _dtype(dtype), dims))
    return SignatureInputs(tuple(decls), note=f"inputs from {note}")


def _dtype(dtype: str) -> str:
    return str(dtype).removeprefix("torch.").replace("tf.", "")


def _pt2_inputs(artifact: SavedArtifact) -> SignatureInputs:
    """Names from the program's user inputs, shapes from its placeholders: a symbolic size (s31) becomes a named
    dim (`batch` at a first axis), its example input's size the default."""
    import torch

    program = torch.export.load(artifact.path)
    names = [spec.arg.name for spec in program.graph_signature.input_specs if spec.kind.name == "USER_INPUT"]
    placeholders = {node.name: node.meta.get("val") for node in program.graph.nodes if node.op == "placeholder"}
    examples = [a for a in (program.example_inputs or ((), {}))[0]]
    symbols, decls, dims = {}, [], {}
    for index, name in enumerate(names):
        value = placeholders.get(name)
        if value is None or not hasattr(value, "shape"):
            raise UserError(f"{artifact.path}: input {name!r} is not a tensor; aibench feeds tensor inputs only")
        shape = []
        for axis, size in enumerate(value.shape):
            if isinstance(size, int):
                shape.append(size)
                continue
            symbol = str(size)
            if symbol not in symbols:
                symbols[symbol] = "batch" if axis == 0 and "batch" not in symbols.values() else f"{name}_dim{axis}"
                if index < len(examples):
                    dims[symbols[symbol]] = int(examples[index].shape[axis])
            shape.append(symbols[symbol])
        decls.append(InputDecl(name, _dtype(str(value.dtype)), shape))
    return SignatureInputs(tuple(decls), tuple((k, v) for k, v in dims.items() if k != "batch"),
                           note="inputs from the exported program (its symbolic dims stay dynamic)")


def _hf_inputs(artifact: SavedArtifact) -> SignatureInputs:
    """A text model: token ids below the vocabulary and an all-ones mask over [batch, seq] (seq 8 by default); a
    vision model: pixel values over [batch, channels, size, size]. A causal LM is called without its cache
    (`use_cache=False`: one forward pass; `aibench generate` checks it over a generation)."""
    config = _hf_config(artifact)
    config = config.get("text_config", config) if "vocab_size" not in config else config
    architecture = (config.get("architectures") or _hf_config(artifact).get("architectures") or [""])[0]
    causal = architecture.endswith(("ForCausalLM", "LMHeadModel"))
    call_args = (("use_cache", False),) if causal else ()
    if "vocab_size" in config:
        vocab = int(config["vocab_size"])
        decls = (InputDecl("input_ids", "int64", ["batch", "seq"], 0, vocab - 1),
                 InputDecl("attention_mask", "int64", ["batch", "seq"], 1, 1))
        return SignatureInputs(decls, (("seq", 8),), call_args,
                               f"inputs of a text model (vocabulary {vocab}){'; called with use_cache=False' if causal else ''}")
    if "num_channels" in config and "image_size" in config:
        size = int(config["image_size"] if not isinstance(config["image_size"], list) else config["image_size"][0])
        decls = (InputDecl("pixel_values", "float32", ["batch", int(config["num_channels"]), size, size]),)
        return SignatureInputs(decls, (), call_args, "inputs of a vision model (from its config)")
    raise UserError(f"{artifact.path}: its config names neither a vocabulary nor an image size; give its inputs "
                    "with --input NAME:DTYPE[dims]")


def causal_lm(artifact: SavedArtifact) -> bool:
    """A Hugging Face causal LM folder: what `aibench generate` checks over a generation."""
    if artifact.kind != "hf-folder":
        return False
    architecture = (_hf_config(artifact).get("architectures") or [""])[0]
    return architecture.endswith(("ForCausalLM", "LMHeadModel"))


@dataclass(frozen=True)
class SignatureRequest:
    """What the worker saved_signature reads: a saved artifact's inputs, in its framework's own process."""

    path: str
    kind: str
    trust_code: bool = False

    def to_dict(self) -> dict:
        return {"path": self.path, "kind": self.kind, "trust_code": self.trust_code}

    @classmethod
    def from_dict(cls, data: dict) -> SignatureRequest:
        return cls(data["path"], data["kind"], bool(data.get("trust_code", False)))


def signature_document(document: dict) -> dict:
    """The worker's job (the worker saved_signature): a SignatureRequest's signature inputs as JSON."""
    from dataclasses import asdict

    from aibench_onnx.status import USER_ERROR

    request = SignatureRequest.from_dict(document)
    try:
        found = signature_inputs(SavedArtifact(request.path, request.kind), request.trust_code)
    except UserError as exc:
        return {"status": USER_ERROR, "reason": str(exc)}
    if found is None:
        return {"status": "ok", "inputs": None}
    return {"status": "ok", "inputs": {"decls": [asdict(d) for d in found.decls], "dims": dict(found.dims),
                                       "call_args": dict(found.call_args), "note": found.note}}


def read_signature(artifact: SavedArtifact, trust_code: bool = False, timeout_s: float = 600) -> SignatureInputs | None:
    """signature_inputs in the framework's own process (a Hugging Face folder's config is read here)."""
    from aibench_onnx.status import USER_ERROR
    from aibench_onnx.launch import run_worker

    if artifact.kind == "hf-folder":
        return _hf_inputs(artifact)
    outcome = run_worker("saved_signature", SignatureRequest(artifact.path, artifact.kind, trust_code), timeout_s)
    document = outcome.document or {}
    if document.get("status") == USER_ERROR:
        raise UserError(document["reason"])
    if not outcome.ok:
        raise UserError(f"{artifact.path}: cannot read {artifact.description}'s inputs: "
                        f"{document.get('reason') or outcome.reason}")
    found = document["inputs"]
    if found is None:
        return None
    return SignatureInputs(tuple(InputDecl(**d) for d in found["decls"]), tuple(found["dims"].items()),
                           tuple(found["call_args"].items()), found["note"])
