"""The typed key of what is timed: one runtime configuration. Every stage passes it as this frozen (hashable)
record — plans, timing processes, aggregation, effects, run records, reports — and nothing builds a label
string to parse it back: the label is derived here, once, for display and as the record's readable id.

Its JSON form is `to_dict()` (the fields plus the derived label); `from_dict` reads it back, including
records written by earlier versions (which stored the label beside the same fields)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

# The optimization-level words a graph runtime's label may carry after its device (ort/session.OPT_LEVELS
# are these): how from_label tells `…:cpu:all` (a level) from `…:cpu:fp16` (a precision, no level).
LEVEL_WORDS = ("disabled", "basic", "extended", "all")
FLAG_WORDS = ("cuda-graph", "no-iobinding")


@dataclass(frozen=True)
class RuntimeConfig:
    """A native runtime kind (`torch-eager`, `jax-jit`, ...: no provider), or a graph runtime (`ort`,
    `openvino`) running one exported graph on one provider or device, at one optimization level where the
    runtime has levels, with or without IO binding / CUDA graph replay, on the graph itself (fp32) or one of
    its reduced-precision variants."""

    kind: str
    framework: str  # the native framework, or the graph a graph runtime runs (a framework name, or torch-script)
    ep: str | None = None  # a graph runtime's provider or device; None: a native runtime kind
    opt_level: str | None = None  # the graph optimization level; None for runtimes without levels
    io_binding: bool = True
    cuda_graph: bool = False  # CUDA provider with IO binding only: replay one captured CUDA graph per call
    precision: str = "fp32"  # the graph (fp32) or one of its reduced-precision variants

    @classmethod
    def native(cls, kind: str, framework: str) -> RuntimeConfig:
        return cls(kind, framework)

    @classmethod
    def graph_runtime(cls, kind: str, graph: str, ep: str, level: str | None = None, io_binding: bool = True,
                      cuda_graph: bool = False, precision: str = "fp32") -> RuntimeConfig:
        """A graph runtime running `graph` on `ep`: at `level` where the runtime has levels (None where not)."""
        return cls(kind, graph, ep, level, io_binding, cuda_graph, precision)

    @property
    def runs_graph(self) -> bool:
        """A graph runtime (ORT, OpenVINO, ...): it runs an exported graph, which must exist before it is timed."""
        return self.ep is not None

    @property
    def label(self) -> str:
        """`torch-eager`; `ort:torch-graph:cpu:all[:cuda-graph][:no-iobinding][:fp16]`; `openvino:torch-graph:cpu`."""
        if not self.runs_graph:
            return self.kind
        parts = [self.kind, f"{self.framework}-graph", self.ep]
        if self.opt_level is not None:
            parts.append(self.opt_level)
        parts += (["cuda-graph"] if self.cuda_graph else []) + ([] if self.io_binding else ["no-iobinding"])
        parts += [] if self.precision == "fp32" else [self.precision]
        return ":".join(parts)

    @property
    def process_group(self) -> str:
        """Configurations that may share a timing process: one native runtime kind, or one graph runtime on one
        provider or device — every graph it runs (each exporter's, each level, each precision), so the two sides
        of an exporter, optimizer or precision effect are sessions of one process sampled in alternating slots:
        what differs from one process to the next (thread placement, memory layout, a neighbour's phase) hits
        both sides alike and cancels in their paired ratio, and fresh processes per round still count it
        (measured on a 2-vCPU VM: an A/A of one file with its copy, ±53 % detectable across processes).
        Runtimes never share a process with another."""
        return f"{self.kind}-{self.ep}-graphs" if self.runs_graph else self.kind

    def export_key(self) -> str:
        """Where its graph is among a subject's exports: the graph's name, or `graph/precision`."""
        return self.framework if self.precision == "fp32" else f"{self.framework}/{self.precision}"

    def to_dict(self) -> dict:
        return {"label": self.label, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict | RuntimeConfig) -> RuntimeConfig:
        """From its JSON form. Unknown fields are ignored; a document that carries only some fields (written by
        hand for `aibench compare`, or by a tool that kept the label) has the rest read from its label."""
        if isinstance(data, RuntimeConfig):
            return data
        known = {f.name for f in fields(cls)}
        given = {key: value for key, value in data.items() if key in known}
        if "label" in data and not {"kind", "ep"} <= set(given):
            given = {**asdict(cls.from_label(data["label"], given.get("framework", ""))), **given}
        return cls(**given)

    @classmethod
    def from_label(cls, label: str, framework: str = "") -> RuntimeConfig:
        """The inverse of `label` (a native kind's label does not name its framework: `framework`)."""
        if ":" not in label:
            return cls.native(label, framework)
        kind, graph, ep, *rest = label.split(":")
        level = rest.pop(0) if rest and rest[0] in LEVEL_WORDS else None
        precision = next((part for part in rest if part not in FLAG_WORDS), "fp32")
        return cls(kind, graph.removesuffix("-graph"), ep, level, "no-iobinding" not in rest, "cuda-graph" in rest,
                   precision)



def effect_sides(document: dict) -> tuple[RuntimeConfig, RuntimeConfig]:
    """The typed (baseline, candidate) of an effect's document (timing.effects.Effect.to_dict); in documents
    written before effects carried typed sides, read from their labels."""
    base, cand = (RuntimeConfig.from_dict(document.get(f"{side}_config") or {"label": document[side]})
                  for side in ("baseline", "candidate"))
    return base, cand
