"""The report of a run (or a bench's run) as one typed record: built by runs/report.build_report from the run
directory, formatted by the views (report/run_views.py, report/html_report.py), written by `aibench report
--json` as its `to_dict()`.

Its rows (parity cells, latency rows, effects, exports) stay the JSON documents the stages wrote: a view formats
them, and a run written by an earlier version reads as it was written."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


class ModelOnTarget(NamedTuple):
    """A timed model and the Ray target it ran on (None in a local run): the report's key, kept as two fields."""

    model: str
    target: str | None

    @property
    def shown(self) -> str:
        """As the report names it: with its target in a Ray run (mlp@l4), so targets sit side by side."""
        return f"{self.model}@{self.target}" if self.target else self.model


@dataclass
class RunReport:
    run_dir: str
    written_by: str  # the command that wrote the run: run, bench, noise, check, generate
    created: str | None
    settings: dict  # as run.json has them: the settings table shows each
    environment: dict  # env.collect's document
    jobs_planned: int
    jobs_done: int
    parity: list[dict] = field(default_factory=list)  # one row per cell: model, framework, ep, opt_level, status, ...
    variants: dict[tuple[str, str], dict] = field(default_factory=dict)  # (model, framework) -> precision -> record
    exports: dict[str, list[dict]] = field(default_factory=dict)  # framework -> one statistics row per export
    latency: dict[str, list[dict]] = field(default_factory=dict)  # model (model@target) -> its latency rows
    effects: dict[str, list[dict]] = field(default_factory=dict)  # model -> its effects (timing.effects)
    warnings: list[str] = field(default_factory=list)
    targets: dict[str, dict] = field(default_factory=dict)  # a Ray run's targets: name -> its node
    hardware: dict[str, list[dict]] = field(default_factory=dict)  # model -> the same config on each other target
    why: list[dict] = field(default_factory=list)  # the explanations `aibench explain` wrote
    generation: list[dict] = field(default_factory=list)  # one generation check per decoder graph
    phases: dict[str, dict] = field(default_factory=dict)  # a timed decoder phase's name -> its phase
    timed: dict[str, ModelOnTarget] = field(default_factory=dict)  # each timed model by the name shown
    resolution: dict | None = None  # how far added rounds resolved the effects (runs.adaptive), when they ran
    headline: list[str] = field(default_factory=list)

    def phase_of(self, model: str) -> dict | None:
        """The decoder phase a timed model is (None for any other model), by the name the report shows it (a
        Ray run's phase@target has its own entry, its decoder decoder@target: a TTFT/TPOT table per target)."""
        return self.phases.get(model)

    def explained_for(self, model: str) -> list[dict]:
        """The explanations (`aibench explain RUN_DIR`) of one model's effects; their subject is `model bBATCH`."""
        return [e for e in self.why if e.get("subject", "").rsplit(" b", 1)[0] == model]

    def to_dict(self) -> dict:
        """The JSON document: every field, the precision variants as a list (JSON keys are strings)."""
        document = {name: getattr(self, name) for name in self.__dataclass_fields__}
        document["timed"] = {shown: key._asdict() for shown, key in self.timed.items()}
        document["variants"] = [{"model": model, "framework": framework, "variants": found}
                                for (model, framework), found in self.variants.items()]
        return document
