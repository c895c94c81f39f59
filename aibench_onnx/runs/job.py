"""A run's jobs as typed records: what `plan_jobs` plans, the executors run (here, or on a Ray node: a job
travels there pickled) and each record in results.jsonl names by its id. Three kinds: a parity job (export one
model from one framework, check its graph), a generation job (a decoder's generation check) and a bench job (one
runtime configuration of one subject in one round)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from aibench_onnx.keys import RuntimeConfig
from aibench_onnx.runtimes import REFERENCE
from aibench_onnx.subjects import Subject


@dataclass(frozen=True, kw_only=True)
class Job:
    job_id: str  # stable across a resume: the record's key
    model: str  # the zoo model, the user's model, or the timed subject's name (a decoder phase's)
    size: str
    framework: str  # the graph's name (a framework, or torch-script); a bench job: its configuration's
    threads: int
    opset: int
    run_dir: str
    target: str | None = None  # a Ray run: the target the job runs on (its id ends @target)

    kind = ""  # parity | generation | bench: each kind's class says

    def on_target(self, target: str) -> Job:
        return replace(self, job_id=f"{self.job_id}@{target}", target=target)


@dataclass(frozen=True, kw_only=True)
class ParityJob(Job):
    """Export the model from its framework and check the graph (zoo parity; a user's model: `check`'s comparison)."""

    kind = "parity"
    eps: tuple[str, ...]
    opt_levels: tuple[str, ...]
    seeds: int = 3
    precisions: tuple[str, ...] = ("fp32",)
    error_stats: dict[str, str] = field(default_factory=dict)  # output ("" every output) -> verdict statistic
    graph_runtimes: tuple[str, ...] = (REFERENCE,)  # the reference checks every export; others timed check it too
    user: dict | None = None  # a user's model (UserModel.to_dict()); None: a zoo model


@dataclass(frozen=True, kw_only=True)
class GenerationJob(Job):
    """A decoder's generation check over `new_tokens` greedy steps from a batch of `prompt`-token prompts."""

    kind = "generation"
    eps: tuple[str, ...]
    opt_levels: tuple[str, ...]
    batch: int
    prompt: int
    new_tokens: int


@dataclass(frozen=True, kw_only=True)
class BenchJob(Job):
    """One runtime configuration of one subject in one round (a timing process's item)."""

    kind = "bench"
    config: RuntimeConfig
    round: int
    subject: Subject

    def in_round(self, round_index: int) -> BenchJob:
        """The same configuration and subject in another round (an added round for an unresolved effect)."""
        return replace(self, round=round_index, job_id=f"bench/{self.model}/{self.config.label}/r{round_index}")
