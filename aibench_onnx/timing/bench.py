"""A bench's pieces below the run that times it (runs/bench.py): the graphs each subject's configurations run,
why a configuration cannot be timed, one configuration over its R processes (replicates, interleaved by round),
and the exporter, optimizer and runtime effects among a model's configurations with statistics that count
processes (timing/processes.py)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from aibench_onnx.artifacts.native import export_graphs
from aibench_onnx.artifacts.variants import subject_calibration
from aibench_onnx.frameworks import missing_framework
from aibench_onnx.jsonio import known_fields
from aibench_onnx.keys import RuntimeConfig
from aibench_onnx.runtimes import missing_runtime
from aibench_onnx.status import Status
from aibench_onnx.subjects import Subject
from aibench_onnx.timing.effects import Effect, compute_effects
from aibench_onnx.timing.processes import across_processes
from aibench_onnx.zoo.spec import ModelSpec

BENCH_SCHEMA_VERSION = 2  # 2: configurations carry their replicates (one per process) and a summary across them


@dataclass
class ProcessResult:
    """One configuration in one timing process (a replicate): what the timing worker answers for it and a run
    stores as its bench job's result. `batches` holds each batch's documents as the measurement wrote them."""

    config: RuntimeConfig
    status: str  # ok | failed | ep_unavailable | unavailable | known_failure | crashed | timeout ...
    reason: str = ""
    round: int = 0  # which replicate; 0 in runs from before replicates
    batches: dict[int, dict] = field(default_factory=dict)  # batch -> measurement, info, cold, energy, remeasured
    process: dict | None = None  # the timing process: round, group, items, threads, startup, idle
    cycles: list[dict] = field(default_factory=list)  # its model's cycles: contaminated, by whom, redone
    job_id: str = ""
    model: str = ""
    build_s: float | None = None  # a native runtime's model build
    peak_rss_bytes: int | None = None  # of the process so far (it may have measured other models)
    peak_device_memory: dict | None = None
    position: int | None = None  # the order the process armed its items in
    wall_s: float | None = None
    traceback: str = ""

    def samples(self, batch: int) -> list[float]:
        return self.batches[batch]["measurement"]["samples_s"]

    @property
    def threads(self) -> dict | None:
        """The timing process's threads (count, affinity, the CPUs it could use)."""
        return (self.process or {}).get("threads")

    def to_dict(self) -> dict:
        document = {f: getattr(self, f) for f in self.__dataclass_fields__ if f not in ("config", "batches")}
        return {**{k: v for k, v in document.items() if v not in (None, "", [])}, "config": self.config.to_dict(),
                "status": self.status, "reason": self.reason, "batches": {str(b): e for b, e in self.batches.items()}}

    @classmethod
    def from_dict(cls, data: dict) -> ProcessResult:
        """As stored: a run from before replicates (results schema 1) had one process, round 0, and no batches
        when it failed."""
        known = known_fields(cls, data)
        known["config"] = RuntimeConfig.from_dict(data["config"])
        known["batches"] = {int(b): e for b, e in (data.get("batches") or {}).items()}
        known["round"] = int(data.get("round") or 0)
        known["reason"] = data.get("reason") or ""
        return cls(**known)


@dataclass
class ConfigResult:
    """One configuration of one model over all its processes."""

    config: RuntimeConfig
    status: str  # ok (at least one process measured it) | failed | known_failure | ep_unavailable | ...
    reason: str = ""
    replicates: list[ProcessResult] = field(default_factory=list)  # one per process, by round
    summary: dict = field(default_factory=dict)  # batch -> AcrossProcesses as a dict

    @property
    def peak_rss_bytes(self) -> int | None:
        return max((r.peak_rss_bytes or 0 for r in self.replicates), default=None) or None

    @property
    def threads(self) -> dict | None:
        return next((r.threads for r in self.replicates if r.threads), None)

    def samples_by_round(self) -> dict[int, dict[int, list[float]]]:
        """batch -> round -> per-call samples, over the processes that measured it."""
        found: dict[int, dict[int, list[float]]] = {}
        for replicate in self.replicates:
            if replicate.status == Status.OK:
                for batch in replicate.batches:
                    found.setdefault(batch, {})[replicate.round] = replicate.samples(batch)
        return found

    def slots_by_round(self) -> dict[int, dict[int, dict[int, float]]]:
        """batch -> round -> cycle -> slot median, over the processes sampled in interleaved slots."""
        found: dict[int, dict[int, dict[int, float]]] = {}
        for replicate in self.replicates:
            if replicate.status == Status.OK:
                for batch, entry in replicate.batches.items():
                    slots = entry["measurement"].get("slots")
                    if slots:
                        found.setdefault(batch, {})[replicate.round] = {s["cycle"]: s["median_s"] for s in slots}
        return found

    def to_dict(self) -> dict:
        return {**asdict(self), "config": self.config.to_dict(), "peak_rss_bytes": self.peak_rss_bytes,
                "threads": self.threads, "replicates": [r.to_dict() for r in self.replicates]}


def aggregate(config: RuntimeConfig | dict, replicates: list[ProcessResult]) -> ConfigResult:
    """One ConfigResult from the per-process results of one configuration (in any order)."""
    config = RuntimeConfig.from_dict(config)
    replicates = sorted(replicates, key=lambda r: r.round)
    measured = [r for r in replicates if r.status == Status.OK]
    result = ConfigResult(config, Status.OK if measured else replicates[0].status, replicates=replicates)
    lost = [r for r in replicates if r.status != Status.OK]
    if lost and measured:
        result.reason = f"{len(lost)} of {len(replicates)} processes {lost[0].status}: {lost[0].reason}"
    elif lost:
        result.reason = lost[0].reason
    result.summary = {str(batch): across_processes(by_round).to_dict()
                      for batch, by_round in sorted(result.samples_by_round().items())}
    return result


DEFAULT_PROMPTS = (16, 128)  # a decoder's prompt lengths: its prefills, and decode steps after each
DEFAULT_NEW_TOKENS = 32


def zoo_subjects(specs: list[ModelSpec], size: str | None, prompts: tuple[int, ...] = DEFAULT_PROMPTS,
                 new_tokens: int = DEFAULT_NEW_TOKENS) -> list[Subject]:
    """One subject per zoo model; a decoder's phases (Subject.decoder_phases) instead of one forward pass."""
    subjects = []
    for spec in specs:
        if spec.decoder is not None:
            subjects += Subject.decoder_phases(spec.name, size, list(prompts), new_tokens)
        else:
            subjects.append(Subject.of_zoo(spec.name, size))
    return subjects


@dataclass
class ModelBench:
    model: str
    size: str
    results: list[ConfigResult]
    effects: list[Effect]
    exports: dict
    phase: dict | None = None  # a decoder phase (Subject.phase): prefill of N tokens, or a decode step after N
    threads: int | None = None  # the intra-op threads every configuration ran with
    subject: dict | None = None  # subjects.Subject.to_dict(): what explain rebuilds the model from, by field

    def to_dict(self) -> dict:
        return {"model": self.model, "size": self.size, "phase": self.phase, "threads": self.threads,
                "subject": self.subject, "exports": self.exports,
                "results": [r.to_dict() for r in self.results], "effects": [e.to_dict() for e in self.effects]}


def model_effects(results: list[ConfigResult], device: str) -> list[Effect]:
    """The effects among one model's results (in plan order: its first graph is the exporter reference)."""
    measured = [r for r in results if r.status == Status.OK]
    return compute_effects([r.config for r in results], {r.config: r.samples_by_round() for r in measured}, device,
                           {r.config: r.slots_by_round() for r in measured})


def with_variants(exports: dict, configs: list[RuntimeConfig], calibration: Callable[[], list[dict]],
                  workdir: Path) -> dict:
    """`exports` plus `framework/precision` -> the variant's record, for the reduced precisions `configs` time.
    `calibration()` is called only when int8-static is among them (a user's input factory runs in this
    process then)."""
    from aibench_onnx.artifacts.variants import variants_in_worker

    found = dict(exports)
    for framework in dict.fromkeys(c.framework for c in configs if c.runs_graph):
        wanted = sorted({c.precision for c in configs if c.framework == framework and c.precision != "fp32"})
        record = exports.get(framework, {})
        if not wanted:
            continue
        if record.get("status") != Status.OK:
            found.update({f"{framework}/{p}": record for p in wanted})  # no graph, no variant: the same reason
            continue
        variants = variants_in_worker(record["path"], wanted, calibration() if "int8-static" in wanted else [],
                                      workdir / framework)
        found.update({f"{framework}/{p}": variants[p] for p in wanted})
    return found


def blocked(known_failures: dict, config: RuntimeConfig, exports: dict) -> ConfigResult | None:
    """Why `config` cannot be timed at all (no graph, graph runtime or framework missing), or None."""
    if config.runs_graph:
        missing = missing_runtime(config.kind)
        if missing:
            return ConfigResult(config, Status.UNAVAILABLE, missing)
        record = exports.get(config.export_key(), {})
        if record.get("status") != Status.OK:
            known = known_failures.get(config.framework)
            status = (Status.UNAVAILABLE if record.get("status") == Status.UNAVAILABLE
                      else Status.KNOWN_FAILURE if known else Status.FAILED)
            reason = f"no ONNX graph: {record.get('reason', 'export failed')}" + (f" — known: {known}" if known else "")
            return ConfigResult(config, status, reason)
        return None
    problem = missing_framework(config.framework)
    return ConfigResult(config, Status.UNAVAILABLE, f"{config.framework}: {problem}") if problem else None


def export_subjects(subjects: list[Subject], configs: list[RuntimeConfig], out_dir: Path, threads: int, opset: int,
                    exported: dict[str, dict] | None = None) -> dict[str, dict]:
    """subject name -> the graphs its configurations run (each framework's export and its precision variants):
    `exported`'s where the caller made them (one export serves every point of a user's dims sweep), else a zoo
    model's exported here, once for all its phases (a decoder's prefill and decode)."""
    exports: dict[str, dict] = {}
    by_model: dict[str, dict] = {}
    for subject in subjects:
        if subject.name in (exported or {}):
            exports[subject.name] = exported[subject.name]
        elif subject.spec.name in by_model:
            exports[subject.name] = by_model[subject.spec.name]
        else:
            graphs = export_graphs(subject.spec, subject.size, sorted({c.framework for c in configs if c.runs_graph}),
                                   out_dir / subject.spec.name, threads, opset)
            exports[subject.name] = by_model[subject.spec.name] = with_variants(
                graphs, configs, lambda: subject_calibration(subject), out_dir / subject.spec.name)
    return exports
