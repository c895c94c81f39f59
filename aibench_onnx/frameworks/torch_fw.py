"""PyTorch adapter: eager inference under torch.inference_mode()."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from aibench_onnx.prepared import Prepared, no_sync


def configure_threads(threads: int) -> None:
    torch.set_num_threads(threads)


def to_framework(arrays: Sequence[np.ndarray]) -> list:
    return [_from_numpy(np.ascontiguousarray(a)) for a in arrays]


def _from_numpy(array: np.ndarray) -> torch.Tensor:
    if array.dtype.name == "bfloat16":  # ml_dtypes' bfloat16, which torch.from_numpy does not know
        return torch.from_numpy(array.view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(array)


def _to_numpy(value: torch.Tensor) -> np.ndarray:
    """numpy has no bfloat16: such outputs come back as float32 (exact)."""
    value = value.detach().cpu()
    return (value.float() if value.dtype == torch.bfloat16 else value).numpy()


def run(model: torch.nn.Module, arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    with torch.inference_mode():
        result = model(*to_framework(arrays))
    result = result if isinstance(result, (tuple, list)) else (result,)
    return [_to_numpy(r) for r in result]


def forward_parameters(model: torch.nn.Module) -> tuple[list[str], bool]:
    """The names `forward` takes, and whether it also takes *args / **kwargs."""
    import inspect

    if isinstance(model, torch.jit.ScriptModule):  # no Python signature: its TorchScript schema names them
        return [a.name for a in model.forward.schema.arguments[1:]], False  # [0] is the module itself
    parameters = inspect.signature(model.forward).parameters.values()
    named = [p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    return named, any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in parameters)


def preferred_exporter(model) -> str | None:
    """The exporter a model needs first: torch.export cannot trace a TorchScript module (torch.jit.load)."""
    return "torch-script" if isinstance(model, torch.jit.ScriptModule) else None


def calls_by_name(model: torch.nn.Module, names: list[str]) -> bool:
    """Inputs go to `forward` by name when every name is one of its parameters (input_ids, attention_mask,
    pixel_values: what Hugging Face models expect); by position when none is (x for forward(self, input)) and
    forward takes that many, or takes *args. Some names matching and others not is a typo (**kwargs would
    swallow it silently): the error lists what forward takes."""
    named, variadic = forward_parameters(model)
    matching = [name for name in names if name in named]
    if len(matching) == len(names):
        return True
    if not matching and (variadic or len(names) <= len(named)):
        return False
    unknown = [name for name in names if name not in named]
    raise ValueError(f"input {', '.join(map(repr, unknown))} matches no parameter of {type(model).__name__}.forward"
                     f"({', '.join(named)})")


class _Bound(torch.nn.Module):
    """A user's model called with its inputs in order, by name where forward names them, plus static
    keyword arguments (use_cache=False): one calling convention for the native run, export and timing."""

    def __init__(self, model: torch.nn.Module, names: list[str], by_name: bool, call_args: dict):
        super().__init__()
        self.model, self.names, self.by_name, self.call_args = model, list(names), by_name, dict(call_args)

    def forward(self, *inputs):
        if self.by_name:
            return self.model(**dict(zip(self.names, inputs)), **self.call_args)
        return self.model(*inputs, **self.call_args)


def bind(model: torch.nn.Module, names: list[str], call_args: dict) -> torch.nn.Module:
    """Eval mode (a model built from a config is in training mode: dropout on), then the calling convention."""
    try:
        model.eval()
        exported = False
    except NotImplementedError:  # a torch.export program's module: its mode was fixed when it was exported
        exported = True
    named, variadic = forward_parameters(model)
    # an exported program takes its inputs as its in-spec says: by position; inputs named in forward's own order
    # need no wrapper either (a TorchScript module must be exported unwrapped: a wrapper's trace cannot call it)
    by_name = calls_by_name(model, names) and not exported and names != named[:len(names)]
    unknown = [name for name in call_args if name not in named and not variadic]
    if unknown:
        raise ValueError(f"call argument {', '.join(map(repr, unknown))} matches no parameter of "
                         f"{type(model).__name__}.forward({', '.join(named)})")
    return _Bound(model, names, by_name, call_args) if by_name or call_args else model


def run_named(model: torch.nn.Module, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A bound model (see bind) on inputs in order; outputs flattened to stable names (frameworks/outputs.py)
    — a tensor, a tuple, a dict or a ModelOutput alike."""
    from aibench_onnx.frameworks.outputs import flatten_outputs

    with torch.inference_mode():
        result = model(*to_framework(list(inputs.values())))
    return {name: _to_numpy(value) for name, value in flatten_outputs(result, torch.is_tensor).items()}


def reduced_model(model: torch.nn.Module, dtype: str, rebuild=None) -> torch.nn.Module:
    """The model as torch runs it in `dtype` (float16: `.half()`, bfloat16): a copy with its floating-point
    weights cast (`run` takes inputs in it)."""
    import copy

    return copy.deepcopy(model).to(getattr(torch, dtype))


def param_count(model: torch.nn.Module) -> int:
    """Parameters plus floating-point buffers (BatchNorm running statistics); not num_batches_tracked."""
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for b in model.buffers() if b.is_floating_point())
    return int(params + buffers)


def tensor(value: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32))


def load(module_param: torch.Tensor, value: np.ndarray) -> None:
    """Copy a canonical array into a parameter or buffer, insisting on the exact shape."""
    if tuple(module_param.shape) != value.shape:
        raise ValueError(f"shape mismatch: native {tuple(module_param.shape)} vs canonical {value.shape}")
    with torch.no_grad():
        module_param.copy_(tensor(value))


def load_linear(layer: torch.nn.Linear, params: dict[str, np.ndarray], prefix: str) -> None:
    """Canonical dense (in, out) -> torch Linear weight (out, in)."""
    load(layer.weight, params[f"{prefix}.w"].T)
    if layer.bias is not None:
        load(layer.bias, params[f"{prefix}.b"])


def load_conv(layer: torch.nn.Conv2d, params: dict[str, np.ndarray], prefix: str) -> None:
    """Canonical HWIO kernel -> torch OIHW (depthwise: HW1C -> C1HW)."""
    load(layer.weight, params[f"{prefix}.w"].transpose(3, 2, 0, 1))
    if layer.bias is not None:
        load(layer.bias, params[f"{prefix}.b"])


def load_batchnorm(layer: torch.nn.BatchNorm2d, params: dict[str, np.ndarray], prefix: str) -> None:
    load(layer.weight, params[f"{prefix}.gamma"])
    load(layer.bias, params[f"{prefix}.beta"])
    load(layer.running_mean, params[f"{prefix}.mean"])
    load(layer.running_var, params[f"{prefix}.var"])


def load_layernorm(layer: torch.nn.LayerNorm, params: dict[str, np.ndarray], prefix: str) -> None:
    load(layer.weight, params[f"{prefix}.gamma"])
    load(layer.bias, params[f"{prefix}.beta"])


def is_model(obj) -> bool:
    return isinstance(obj, torch.nn.Module)


def probe_devices() -> dict:
    cuda = torch.cuda.is_available()
    info = {
        "version": torch.__version__,
        "cuda_build": torch.version.cuda,
        "cuda_available": cuda,
        "devices": ["cpu"] + [f"cuda:{i} {torch.cuda.get_device_name(i)}" for i in range(torch.cuda.device_count())],
        "intra_op_threads": torch.get_num_threads(),
    }
    if cuda:
        info["cudnn"] = torch.backends.cudnn.version()
        info["tf32_matmul"] = torch.backends.cuda.matmul.allow_tf32
        info["tf32_cudnn"] = torch.backends.cudnn.allow_tf32
    return info


def prepare_timed(kind: str, model, arrays: Sequence[np.ndarray], device: str) -> Prepared:
    """torch-eager or torch-compile on device-resident inputs, under inference_mode."""
    on_gpu = device == "cuda"
    target = torch.device("cuda" if on_gpu else "cpu")
    model = model.to(target)
    tensors = [torch.from_numpy(a).to(target) for a in arrays]
    if kind == "torch-compile":
        model = torch.compile(model)
    sync = torch.cuda.synchronize if on_gpu else no_sync

    def run():
        with torch.inference_mode():
            return model(*tensors)

    info = {"device": str(target), "intra_op_threads": torch.get_num_threads()}
    if on_gpu:
        info.update(tf32_matmul=torch.backends.cuda.matmul.allow_tf32, tf32_cudnn=torch.backends.cudnn.allow_tf32)
    return Prepared(run, sync, info)


def peak_device_memory() -> dict:
    """The CUDA caching allocator's peak, which NVML cannot separate from the allocator's reserve."""
    return {"available": True, "bytes": int(torch.cuda.max_memory_allocated()), "source": "torch allocator"}
