"""The requests of a generation check's two processes (generation/native.py, generation/onnx_side.py), built by
generation/run.py: typed records written as JSON and parsed once by the worker that answers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from aibench_onnx.subjects import Subject


@dataclass(frozen=True)
class NativeGenerationRequest:
    """The framework's process: build the decoder (a zoo model at a size, or a user's causal LM), generate the
    reference greedily, probe it against itself, and export `graph` — unless `export` is the record of this
    graph exported already (a run's parity job made it), checked as it is."""

    subject: Subject
    graph: str  # the exporter's graph name (torch-dynamo, tf2onnx, ...)
    out_dir: str
    threads: int
    opset: int
    batch: int
    prompt: int
    new_tokens: int
    seed: int
    export: dict | None = None
    repro: bool = False  # save the prefill's and first decode step's feeds and outputs (generate --repro)

    def to_dict(self) -> dict:
        return {**asdict(self), "subject": self.subject.to_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> NativeGenerationRequest:
        return cls(**{**data, "subject": Subject.from_dict(data["subject"])})


@dataclass(frozen=True)
class GraphGenerationRequest:
    """The graph runtime's process: the exported decoder per provider and level, judged against the native
    reference (`reference`, an .npz) with the model's tolerance."""

    graph: str  # the exported file
    reference: str
    io: dict  # zoo.decoder.DecoderIO as a dict
    rtol: float
    atol: float
    eps: list[str]
    levels: list[str]
    threads: int
    native_faults: list[str] = field(default_factory=list)  # the native model's own probe faults: its design

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> GraphGenerationRequest:
        return cls(**data)
