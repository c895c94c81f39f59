"""A generation check of one decoder × exporter: the framework's process (reference, native self-checks,
export), then ONNX Runtime's (each provider × level); the result says who is to blame for what fails."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from aibench_onnx.errors import UserError
from aibench_onnx.generation.check import GenerationCheck
from aibench_onnx.generation.requests import GraphGenerationRequest, NativeGenerationRequest
from aibench_onnx.launch import run_worker
from aibench_onnx.requests import OneSetCheck
from aibench_onnx.status import Status

WORKER_TIMEOUT_S = 1200.0
USER_ERROR = "user_error"


@dataclass(frozen=True)
class GenerationSettings:
    batch: int = 4
    prompt: int = 16
    new_tokens: int = 32
    seed: int = 0
    eps: tuple[str, ...] = ("cpu",)
    levels: tuple[str, ...] = ("disabled", "all")
    threads: int = 2
    opset: int = 18
    repro_dir: str | None = None  # --repro: a reproduction bundle per failing check there

    def to_dict(self) -> dict:
        return {"batch": self.batch, "prompt": self.prompt, "new_tokens": self.new_tokens, "seed": self.seed,
                "eps": list(self.eps), "levels": list(self.levels), "threads": self.threads, "opset": self.opset,
                "repro_dir": self.repro_dir}


@dataclass
class GenerationResult:
    """One decoder exported by one exporter: the native model's own checks and each graph runtime's."""

    model: str
    size: str
    graph: str  # the exporter's graph name (torch, torch-script, tf, jax)
    status: str = Status.OK
    reason: str = ""
    export: dict | None = None
    native: GenerationCheck | None = None
    checks: list[GenerationCheck] = field(default_factory=list)
    io: dict | None = None  # the decoder's interface (zoo.decoder.DecoderIO), as its framework's process read it

    def blame(self, check: GenerationCheck) -> str:
        """Who a failing check points at: the model itself when the native model fails its own checks; ONNX
        Runtime's optimizer when the same provider passes with optimizations disabled; the provider when
        another provider passes at the same level; else the exported graph."""
        if check.passed:
            return ""
        if self.native is not None and not self.native.passed:
            return "model"
        others = [c for c in self.checks if c is not check and c.status == Status.OK]
        if check.level != "disabled" and any(c.passed and c.ep == check.ep and c.level == "disabled" for c in others):
            return "optimizer"
        if any(c.passed and c.level == check.level and c.ep != check.ep for c in others):
            return "runtime"
        return "export"

    @property
    def statuses(self) -> list[str]:
        if self.status != Status.OK:
            return [self.status]
        found = [c.status if c.status != Status.OK else (Status.OK if c.passed else Status.FAILED) for c in self.checks]
        if self.native is not None and not self.native.passed:
            found.append(Status.FAILED)
        return found or [Status.FAILED]

    def to_dict(self) -> dict:
        return {"model": self.model, "size": self.size, "graph": self.graph, "status": self.status,
                "reason": self.reason, "io": self.io, "export": self.export,
                "native": self.native.to_dict() if self.native else None,
                "checks": [{**c.to_dict(), "blame": self.blame(c)} for c in self.checks]}


def check_generation(subject, graph: str, settings: GenerationSettings, out_dir: Path,
                     export: dict | None = None) -> GenerationResult:
    """`subject`: a Subject (a zoo decoder at a size, or a user's model). `export`: the graph's export record when
    it is exported already (it is checked as it is). A user's mistake (not a causal LM, a factory that does not
    import) is a UserError; a model that fails to run or export is a failed result."""
    from aibench_onnx.frameworks import framework_of, missing_framework

    result = GenerationResult(subject.name, subject.size, graph)
    problem = missing_framework(framework_of(graph))
    if problem:
        result.status, result.reason = Status.UNAVAILABLE, f"{framework_of(graph)}: {problem}"
        return result
    workdir = out_dir / subject.name / graph
    workdir.mkdir(parents=True, exist_ok=True)
    request = NativeGenerationRequest(subject, graph, str(workdir), settings.threads, settings.opset, settings.batch,
                                      settings.prompt, settings.new_tokens, settings.seed, export,
                                      settings.repro_dir is not None)
    outcome = run_worker("generation_native", request, WORKER_TIMEOUT_S,
                         workdir / "native_request.json")
    native = outcome.document
    if outcome.died:
        result.status, result.reason = outcome.status, f"the framework's process died: {outcome.reason}"
        return result
    if native.get("status") == USER_ERROR:
        raise UserError(native["reason"])
    if native.get("status") != Status.OK:
        result.status, result.reason = Status.FAILED, native.get("reason", outcome.reason)
        return result
    result.native = GenerationCheck.from_dict(native["native"])
    result.export, result.io = native["export"], native["io"]
    if result.export["status"] != Status.OK:
        result.status = Status.FAILED
        result.reason = f"export failed: {result.export.get('reason', '')}"
        return result
    rtol, atol = native["tolerance"]
    graph_request = GraphGenerationRequest(result.export["path"], native["reference"], native["io"], rtol, atol,
                                           list(settings.eps), list(settings.levels), settings.threads,
                                           [f.name for f in result.native.as_native])
    outcome = run_worker("generation_ort", graph_request, WORKER_TIMEOUT_S,
                         workdir / "ort_request.json")
    if outcome.died or outcome.document.get("status") != Status.OK:
        result.status = Status.FAILED if not outcome.died else outcome.status
        result.reason = f"ONNX Runtime's process: {outcome.document.get('reason') or outcome.reason}"
        return result
    result.checks = [GenerationCheck.from_dict(c) for c in outcome.document["checks"]]
    if settings.repro_dir is not None and native.get("steps"):
        _reproduce(result, native["steps"], settings.threads, Path(settings.repro_dir) / subject.name / graph)
    return result


def failing_phase(check: GenerationCheck) -> str:
    """The step a failing check is reproduced on: the prefill when its logits are off or the graph did not run
    at all, else the first decode step (a cache path's fault shows from there)."""
    if check.status != Status.OK or (check.prefill is not None and not check.prefill.passed):
        return "prefill"
    return "decode"


def _reproduce(result: GenerationResult, steps: dict[str, list[str]], threads: int, directory: Path) -> None:
    """`generate --repro`: each failing check's graph checked on one step — the prefill or the first decode step,
    fed as the native model was, its every output (logits, presents) against the native model's — localized and
    reduced as `check --repro` does (the worker check_one_set), the bundles under directory/<phase>."""
    failing = [c for c in result.checks if not c.passed and c.status in (Status.OK, Status.FAILED)]
    groups: dict[tuple[str, str], list[GenerationCheck]] = {}
    for check in failing:
        phase = failing_phase(check)
        phase = phase if phase in steps else "prefill"  # one new token: no decode step was saved
        groups.setdefault((phase, check.ep), []).append(check)
    for (phase, ep), checks in groups.items():
        inputs, outputs = steps[phase]
        request = OneSetCheck.at_failing_levels(result.export["path"], inputs, outputs, ep, {c.level for c in checks},
                                                threads, str(directory / phase))
        outcome = run_worker("check_one_set", request.to_dict(), WORKER_TIMEOUT_S)
        cells = {c["opt_level"]: c for c in outcome.document.get("cells", [])} if outcome.ok else {}
        for check in checks:
            cell = cells.get(check.level)
            if cell is None:
                check.repro = {"reproduced": False,
                               "note": f"the {phase} step's check did not finish: {outcome.reason}"}
                continue
            check.divergence = cell.get("divergence")
            check.repro = cell.get("repro") or {
                "reproduced": False, "note": f"on the {phase} step alone the graph {cell['status']} "
                                             f"({cell.get('reason') or 'within the default float32 tolerance'}): "
                                             "what fails needs the whole generation"}
