"""What a parity worker answers for one configuration (ONNX Runtime's, parity/ort_side.py; another graph
runtime's, parity/graph_side.py): one graph on one provider x level x precision over every input set — where
its outputs were written, or why there are none. Both workers answer this record, so zoo parity judges both
alike."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from aibench_onnx.jsonio import known_fields
from aibench_onnx.status import Status

VALUE_INFO_REMOVED = "value_info_removed"  # ORT refused the exporter's shape annotations: outputs are without them


@dataclass
class ConfigRun:
    ep: str
    opt_level: str
    precision: str = "fp32"
    status: str = Status.OK
    reason: str = ""
    output_files: list[str] = field(default_factory=list)  # one .npz per input set, by output name
    casts: list[str] = field(default_factory=list)  # integer inputs cast to the graph's declared type
    providers: list[str] = field(default_factory=list)  # what really ran
    audit: dict | None = None  # ORT: nodes per provider, Memcpy nodes (ort/audit.py)
    diagnostic: str = ""  # VALUE_INFO_REMOVED, or ""
    create_s: float | None = None
    log: list[str] = field(default_factory=list)
    runtime: str = ""  # another graph runtime's kind ("" for ONNX Runtime's worker)
    info: dict = field(default_factory=dict)  # another graph runtime's device and version

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ConfigRun:
        return cls(**known_fields(cls, data))
