"""The framework's process of a generation check: build the decoder (a zoo decoder, or a user's Hugging Face
causal LM), generate greedily with its cache — the reference every graph is judged against —, check the
native model against itself (cache on vs off, padded vs alone, the fault probes, and for a Hugging Face model
its own generate()), and export it with past and present key/values as graph inputs and outputs."""

from __future__ import annotations

import json
import os
import resource
import time
from pathlib import Path
from typing import TYPE_CHECKING

from aibench_onnx.errors import UserError
from aibench_onnx.generation.check import GenerationCheck, Reference, check_itself
from aibench_onnx.generation.decoding import bucketed, greedy, make_prompts
from aibench_onnx.generation.judge import agreement
from aibench_onnx.generation.requests import NativeGenerationRequest
from aibench_onnx.status import Status
from aibench_onnx.zoo.decoder import DecoderIO, decoder_spec, hf_io, zoo_io

if TYPE_CHECKING:
    import numpy as np

USER_ERROR = "user_error"
EXPORT_BATCH = 2  # traced at sizes ≥ 2 (batch, new tokens, cache): torch.export specialises sizes 0 and 1


def _build(request: NativeGenerationRequest):
    """(model as a step callable by the adapter, its framework, io, spec, size, the HF model or None)."""
    from aibench_onnx.frameworks import framework_of

    subject = request.subject
    if subject.user:
        from aibench_onnx.frameworks.hf_decoder import FlatCacheLM, is_causal_lm
        from aibench_onnx.frameworks.user_model import UserModel, load_factory_model

        user = UserModel(**subject.user)
        if user.framework != "torch":
            raise UserError(f"{user.target}: generation of a user's model needs a PyTorch (Hugging Face) causal LM; "
                            f"got framework {user.framework!r}")
        model = load_factory_model(user.target, "torch", user.cwd, user.trust_code)
        if not is_causal_lm(model):
            raise UserError(f"{user.target}: returned {type(model).__name__}, not a causal language model "
                            f"(a transformers *ForCausalLM / GPT2LMHeadModel with a config and generate())")
        io = hf_io(model.config)
        return FlatCacheLM(model), "torch", io, decoder_spec(subject.name, io), "tiny", model
    from aibench_onnx.zoo.registry import builder, get_spec

    spec, size = get_spec(subject.name), subject.size
    if spec.decoder is None:
        raise UserError(f"{spec.name} is not a decoder LM; generation is checked for decoders (the zoo's: "
                        f"decoder; or a Hugging Face causal LM of yours)")
    framework = framework_of(request.graph)
    model = builder(spec.name, framework)(spec.make_params(size), spec.sizes[size])
    return model, framework, zoo_io(spec, size), spec, size, None


def native_step(framework: str, model, io: DecoderIO):
    """The native model as a decoder step. JAX: jitted, at bucketed lengths (decoding.bucketed) — eager JAX
    compiles every operation for every new length, ~1 s per step of the tiny zoo decoder."""
    from aibench_onnx.frameworks import adapter

    if framework == "jax":
        from aibench_onnx.frameworks.jax_fw import jitted

        forward = jitted(model)

        def jax_step(feed: dict[str, np.ndarray]) -> dict:
            return dict(zip(io.output_names, forward([feed[name] for name in io.input_names])))

        return bucketed(jax_step, io)
    fw = adapter(framework)

    def step(feed: dict[str, np.ndarray]) -> dict:
        return dict(zip(io.output_names, fw.run(model, [feed[name] for name in io.input_names])))

    return step


def run_native_generation(document: dict) -> dict:
    """The worker's job (module docstring), on a NativeGenerationRequest."""
    request = NativeGenerationRequest.from_dict(document)
    os.environ["OMP_NUM_THREADS"] = str(request.threads)
    from aibench_onnx.frameworks import adapter

    out_dir = Path(request.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        model, framework, io, spec, size, hf_model = _build(request)
    except UserError as exc:
        return {"status": USER_ERROR, "reason": str(exc)}
    tolerance = spec.tolerance("float32")
    rtol, atol = tolerance.rtol, tolerance.atol
    adapter(framework).configure_threads(request.threads)
    build_s = time.perf_counter() - started
    step = native_step(framework, model, io)
    prompts = make_prompts(io.vocab, request.batch, request.prompt, request.seed)
    first_steps: list[tuple[dict, dict]] = []  # the prefill's and the first decode step's (feed, outputs)

    def recording(feed: dict[str, np.ndarray]) -> dict:
        out = step(feed)
        if len(first_steps) < 2:
            first_steps.append((feed, out))
        return out

    trace = greedy(recording, io, prompts, request.new_tokens)
    reference = Reference.of(prompts, trace)
    reference.save(out_dir / "reference.npz")
    native = GenerationCheck("native")
    check_itself(step, io, prompts, trace, rtol, atol, native)
    if hf_model is not None:
        from aibench_onnx.frameworks.hf_decoder import generate_greedy

        library = generate_greedy(hf_model, prompts.ids, prompts.mask, request.new_tokens)
        native.generate_agreement = agreement(trace.tokens, trace.logits, library, trace.logits, rtol, atol)

    record = request.export or _export(model, spec, size, io, request, out_dir)
    return {"status": Status.OK, "io": io.to_dict(), "tolerance": [rtol, atol], "build_s": round(build_s, 3),
            "reference": str(out_dir / "reference.npz"), "native": native.to_dict(), "export": record,
            **({"steps": _save_steps(first_steps, io, out_dir / "steps")} if request.repro else {})}


def _save_steps(first_steps: list[tuple[dict, dict]], io, directory: Path) -> dict[str, list[str]]:
    """The prefill's and the first decode step's feeds and the native model's outputs on them (every output: the
    logits and each layer's present), saved for `generate --repro` to check the graph on one step: phase ->
    [inputs .npz, outputs .npz]."""
    import numpy as np

    directory.mkdir(parents=True, exist_ok=True)
    saved = {}
    for phase, (feed, out) in zip(("prefill", "decode"), first_steps):
        inputs, outputs = directory / f"{phase}_inputs.npz", directory / f"{phase}_outputs.npz"
        np.savez(inputs, **{name: np.asarray(value) for name, value in feed.items()})
        np.savez(outputs, **{name: np.asarray(out[name]) for name in io.output_names})
        saved[phase] = [str(inputs), str(outputs)]
    return saved


def _other_routes(hf_model, first: dict, attempt, graph: str) -> dict:
    """A Hugging Face LM whose export failed: a mixture of experts again with transformers' batched_mm, then its
    eager experts (torch.onnx has no function for the grouped_mm kernel), then torch.onnx's TorchScript exporter. The record
    keeps every attempt and names the route that worked (`route`)."""
    attempts, record = [("as built", first)], first
    if hasattr(hf_model, "set_experts_implementation"):
        # batched_mm runs every expert as one batched matmul (no data-dependent loop for torch.export to trip on);
        # eager loops over the experts that were hit
        for implementation in ("batched_mm", "eager"):
            if record["status"] == Status.OK or hf_model.get_experts_implementation() == implementation:
                continue
            hf_model.set_experts_implementation(implementation)
            record = attempt(graph)
            attempts.append((f"experts_implementation={implementation}", record))
    if record["status"] != Status.OK and graph == "torch":
        record = attempt("torch-script")
        attempts.append(("torch.onnx (TorchScript)", record))
    record = dict(record)
    record["attempts"] = [{"route": route, "exporter": r.get("exporter"), "status": r["status"],
                           "reason": r.get("reason", "")} for route, r in attempts]
    if record["status"] == Status.OK:
        record["route"] = attempts[-1][0]
        record["fallback"] = (f"{first.get('exporter')} failed as built ({first.get('reason', '')[:200]}); "
                              f"exported with {attempts[-1][0]}")
    else:
        record["reason"] = "; ".join(f"{route}: {r.get('reason', '')}" for route, r in attempts)
    return record


def _export(model, spec, size: str, io: DecoderIO, request: NativeGenerationRequest, out_dir: Path) -> dict:
    """The decoder exported with its cache as graph inputs and outputs; the export record with the process's
    peak RSS after it (and how much the export added)."""
    from aibench_onnx.artifacts.export import export_model

    example = spec.make_inputs(size, EXPORT_BATCH, seed=0)  # a decode call of 3 or 4 tokens after 3 or 4 cached
    memory_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def attempt(graph: str) -> dict:
        return export_model(model, spec, size, graph, [example[n] for n in io.input_names], out_dir / "model.onnx",
                            request.opset, dynamic=spec.dynamic_axes())

    record = attempt(request.graph)
    hf_model = getattr(model, "model", None)  # a user's causal LM inside its FlatCacheLM
    if record["status"] != Status.OK and hf_model is not None:
        record = _other_routes(hf_model, record, attempt, request.graph)
    record["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    record["peak_rss_grew_mb"] = round((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - memory_before) / 1024, 1)
    (out_dir / "export.json").write_text(json.dumps(record, indent=2, default=str))
    return record
