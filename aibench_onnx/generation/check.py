"""One decoder on one runtime, checked over a greedy generation: against the native reference (prefill and
decode logits judged apart, the cache contents, token agreement) and against itself (cache on vs off, a
padded batch vs its rows alone), with the fault probes naming what a failing cache path does wrong."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from aibench_onnx.generation.decoding import Prompts, Step, Trace, greedy, without_cache
from aibench_onnx.generation.faults import Fault, probe
from aibench_onnx.generation.judge import DIVERGED, Agreement, PathError, agreement, path_error
from aibench_onnx.jsonio import known_fields
from aibench_onnx.status import Status
from aibench_onnx.zoo.decoder import DecoderIO


@dataclass
class Reference:
    """The native generation every runtime is judged against."""

    prompts: Prompts
    tokens: np.ndarray  # (batch, steps)
    logits: np.ndarray  # (batch, steps, vocab)
    presents: list[np.ndarray]

    def save(self, path) -> None:
        np.savez(path, ids=self.prompts.ids, mask=self.prompts.mask, tokens=self.tokens, logits=self.logits,
                 **{f"present{i}": p for i, p in enumerate(self.presents)})

    @classmethod
    def load(cls, path) -> Reference:
        data = np.load(path)
        presents = [data[f"present{i}"] for i in range(sum(1 for k in data.files if k.startswith("present")))]
        return cls(Prompts(data["ids"], data["mask"]), data["tokens"], data["logits"], presents)

    @classmethod
    def of(cls, prompts: Prompts, trace: Trace) -> Reference:
        return cls(prompts, trace.tokens, trace.logits, trace.presents)


@dataclass
class GenerationCheck:
    """One runtime's generation verdict. Path errors are None where not measured (the native reference is
    not compared with itself)."""

    runtime: str  # "native" (the framework) or the graph runtime that generated (runtimes: its entry generates)
    ep: str = ""
    level: str = ""
    status: str = Status.OK
    reason: str = ""
    providers: list[str] = field(default_factory=list)
    prefill: PathError | None = None
    decode: PathError | None = None
    cache_contents: PathError | None = None
    tokens: Agreement | None = None
    cache: PathError | None = None  # cache on vs off, on this runtime
    padding: PathError | None = None  # a padded batch vs its rows alone, on this runtime
    faults: list[Fault] = field(default_factory=list)
    # what the probes show on the native model too: its design (ALiBi attention ignores position ids), not a
    # fault of the graph; the native model's own probes are all here, and decide nothing
    as_native: list[Fault] = field(default_factory=list)
    generate_agreement: Agreement | None = None  # the native model: aibench's loop vs the library's generate()
    casts: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # `generate --repro`: the failing step's first diverging node and its reproduction bundle (generation/run.py)
    divergence: dict | None = None
    repro: dict | None = None

    @property
    def errors(self) -> list[PathError]:
        return [e for e in (self.prefill, self.decode, self.cache_contents, self.cache, self.padding) if e is not None]

    @property
    def passed(self) -> bool:
        return (self.status == Status.OK and all(e.passed for e in self.errors) and not self.faults
                and (self.tokens is None or self.tokens.kind != DIVERGED)
                and (self.generate_agreement is None or self.generate_agreement.kind != DIVERGED))

    def verdict(self) -> str:
        """One line: what failed first, and the faults found."""
        if self.status != Status.OK:
            return self.reason
        failed = [f"{e.what} off by {e.max_abs:.3g}" + (f" (worst at step {e.worst_step})" if e.worst_step else "")
                  for e in self.errors if not e.passed]
        if self.tokens is not None and self.tokens.kind == DIVERGED:
            failed.append(f"tokens {self.tokens.describe()}")
        if self.generate_agreement is not None and self.generate_agreement.kind == DIVERGED:
            failed.append(f"generate() {self.generate_agreement.describe()}")
        failed += [f"{f.name}: {f.evidence}" for f in self.faults]
        return "; ".join(failed) if failed else "passed"

    @classmethod
    def from_dict(cls, data: dict) -> GenerationCheck:
        """From its JSON — a worker's document or a run's stored result (derived fields dropped; a field an older
        version did not write keeps its default)."""
        def typed(kind, value):
            return kind(**known_fields(kind, value)) if value is not None else None

        known = known_fields(cls, data)
        for name in ("prefill", "decode", "cache_contents", "cache", "padding"):
            known[name] = typed(PathError, known.get(name))
        for name in ("tokens", "generate_agreement"):
            known[name] = typed(Agreement, known.get(name))
        for name in ("faults", "as_native"):
            known[name] = [typed(Fault, fault) for fault in known.get(name) or []]
        return cls(**known)

    def to_dict(self) -> dict:
        def plain(value):
            return value.to_dict() if hasattr(value, "to_dict") else value

        return {"runtime": self.runtime, "ep": self.ep, "level": self.level, "status": self.status,
                "reason": self.reason, "providers": self.providers, "passed": self.passed, "verdict": self.verdict(),
                **{name: plain(getattr(self, name)) for name in ("prefill", "decode", "cache_contents", "tokens",
                                                                  "cache", "padding", "generate_agreement")},
                "faults": [f.to_dict() for f in self.faults], "as_native": [f.to_dict() for f in self.as_native],
                "casts": self.casts, "seconds": self.seconds, "divergence": self.divergence, "repro": self.repro}


def check_itself(step: Step, io: DecoderIO, prompts: Prompts, trace: Trace, rtol: float, atol: float,
                 result: GenerationCheck, native_faults: tuple[str, ...] | None = None) -> None:
    """Cache on vs off, a padded batch vs its rows alone, and the fault probes, all on this one runtime.
    `native_faults`: the names the native model's probes showed (None: this is the native model)."""
    uncached, _ = without_cache(step, io, prompts, trace.tokens)
    result.cache = path_error("cache on vs off", trace.logits, uncached, rtol, atol)
    alone = np.concatenate([greedy(step, io, prompts.row(r), trace.tokens.shape[1], forced=trace.tokens[r:r + 1]).logits
                            for r in range(prompts.batch)], axis=0)
    result.padding = path_error("padded vs alone", trace.logits, alone, rtol, atol)
    found = probe(step, io, prompts, rtol, atol)
    shared = set(f.name for f in found) if native_faults is None else set(native_faults)
    result.faults = [f for f in found if f.name not in shared]
    result.as_native = [f for f in found if f.name in shared]


def check_against(step: Step, io: DecoderIO, reference: Reference, rtol: float, atol: float,
                  result: GenerationCheck) -> Trace:
    """The runtime on the reference's sequence (teacher-forced): prefill (step 0) and decode (steps 1..) logits
    judged apart, the cache contents after the last step; then its own greedy tokens against the reference's.
    Returns the runtime's own greedy trace."""
    steps = reference.tokens.shape[1]
    forced = greedy(step, io, reference.prompts, steps, forced=reference.tokens)
    result.prefill = path_error("prefill", forced.logits[:, :1], reference.logits[:, :1], rtol, atol)
    if steps > 1:
        result.decode = path_error("decode", forced.logits[:, 1:], reference.logits[:, 1:], rtol, atol,
                                   step_offset=1)
    result.cache_contents = _cache_contents(forced.presents, reference.presents, reference.prompts.mask, rtol, atol)
    own = greedy(step, io, reference.prompts, steps)
    result.tokens = agreement(reference.tokens, reference.logits, own.tokens, forced.logits, rtol, atol)
    return own


def _cache_contents(actual: list[np.ndarray], expected: list[np.ndarray], prompt_mask: np.ndarray, rtol: float,
                    atol: float) -> PathError:
    """The cache after the last step at the real tokens' positions. Padding's entries are left out: a padding
    query sees no key, and what such a row attends to is undefined (each implementation averages something)."""
    if [a.shape for a in actual] != [e.shape for e in expected]:
        return PathError("cache contents", float("inf"), None, float("inf"), rtol, atol, False)
    length = expected[0].shape[2]
    real = np.concatenate([prompt_mask, np.ones((prompt_mask.shape[0], length - prompt_mask.shape[1]), np.int64)],
                          axis=1)[:, None, :length, None] != 0
    return path_error("cache contents", np.stack([np.where(real, a, 0) for a in actual]),
                      np.stack([np.where(real, e, 0) for e in expected]), rtol, atol, step_axis=None)


def check_runtime(step: Step, io: DecoderIO, reference: Reference, rtol: float, atol: float,
                  result: GenerationCheck, native_faults: tuple[str, ...] = ()) -> GenerationCheck:
    """Everything for one runtime: against the reference, then against itself."""
    started = time.perf_counter()
    own = check_against(step, io, reference, rtol, atol, result)
    check_itself(step, io, reference.prompts, own, rtol, atol, result, native_faults)
    result.seconds = round(time.perf_counter() - started, 3)
    return result
