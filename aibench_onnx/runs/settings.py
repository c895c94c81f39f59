"""The settings of one `aibench run`, as one frozen record: built once by the CLI from its options (validated
there), written into run.json as `to_dict()`, and read back with `from_dict` — also from runs written by earlier
versions, whose missing fields take the value those versions behaved with (one process a configuration, fp32
only, no decoder phases, the local executor)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any


@dataclass(frozen=True)
class RunSettings:
    frameworks: tuple[str, ...] = ()  # the graphs to export and run (framework names, torch-script)
    eps: tuple[str, ...] = ("cpu",)
    opt_levels: tuple[str, ...] = ("disabled", "all")
    batches: tuple[int, ...] = (1,)
    runtimes: tuple[str, ...] = ()  # the runtime kinds timed
    threads: int = 0  # 0: not recorded (a hand-written run)
    opset: int = 18
    timeout_s: float = 900.0
    timing: dict[str, float] = field(default_factory=dict)  # TimingConfig's fields this run sets
    quick: bool = False
    models: tuple[str, ...] = ()  # zoo models
    user_models: tuple[dict, ...] = ()  # users' own models (UserModel.to_dict())
    size: str | None = None  # None: each model's default
    seeds: int = 3
    precisions: tuple[str, ...] = ("fp32",)
    error_stats: dict[str, str] = field(default_factory=dict)  # output ("" every output) -> verdict statistic
    generation: dict[str, int] | None = None  # decoders' generation check: batch, prompt, new_tokens
    phases: dict[str, Any] | None = None  # decoders timed by phase: prompts, new_tokens
    repeats: int = 1  # processes (rounds) per timing configuration
    target_mde: float = 0.0  # add rounds for effects whose detectable effect is above this
    budget_s: float = 0.0  # time for the added rounds
    max_repeats: int = 10
    device: str = "cpu"  # native runtimes' device
    tf32: bool = False
    variance_controls: tuple[str, ...] = ()  # what the timing sets against noise (printed with the settings)
    executor: str = "local"  # local, or ray
    address: str | None = None  # the Ray cluster
    targets: tuple[str, ...] = ()  # Ray targets: every job on each
    target_specs: tuple[dict, ...] = ()  # runs.targets.Target.to_dict() of each
    repro_dir: str | None = None  # --repro: a reproduction bundle per failing fp32 ORT cell there (absolute)
    run_dir: str = ""  # where the run is (absolute; set again on --resume: a run may have been moved)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | RunSettings) -> RunSettings:
        """From run.json's `settings` (unknown keys ignored; lists become tuples)."""
        if isinstance(data, RunSettings):
            return data
        known = {f.name: f for f in fields(cls)}
        given = {}
        for name, value in data.items():
            if name not in known:
                continue
            if isinstance(value, list) and str(known[name].type).startswith("tuple"):
                value = tuple(value)
            given[name] = value
        return cls(**given)

    def with_changes(self, **changes) -> RunSettings:
        return replace(self, **changes)
