"""Run directories: run.json (environment, settings, plan, schema version) and results.jsonl (one record
per finished job, appended, flushed and fsynced the moment the job ends, so a crash loses nothing)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from aibench_onnx.errors import UserError
from aibench_onnx.jsonio import json_default
from aibench_onnx.status import Status

if TYPE_CHECKING:
    from aibench_onnx.parity.cell import ExportParity
    from aibench_onnx.timing.bench import ProcessResult

RESULTS_SCHEMA_VERSION = 1
RUN_KIND = "aibench-run"
RUN_FILE = "run.json"
RESULTS_FILE = "results.jsonl"


@dataclass(frozen=True)
class JobRecord:
    """One line of results.jsonl: a finished job — what ran (its id, kind, model, graph and size), when, its
    status and reason, and its result (a parity job's ExportParity, a generation check's GenerationResult, a
    bench job's timing-process result), each as its own to_dict(). A Ray run's record names its target and node.
    Read back with from_dict; a record written by an earlier version lacks fields, which take these defaults."""

    job_id: str
    kind: str = ""  # parity | generation | bench
    model: str = ""
    framework: str = ""
    size: str = ""
    status: str = ""
    reason: str = ""
    started: float = 0.0
    ended: float = 0.0
    duration_s: float = 0.0
    result: dict | None = None
    round: int | None = None  # a bench job's round (its process)
    target: str | None = None  # a Ray run: the target the job ran on
    node: dict | None = None  # a Ray run: the node's id, host, hardware fingerprint, niceness

    @property
    def timing(self) -> ProcessResult | None:
        """A bench job's timing-process result, typed; None for another job or a lost one."""
        from aibench_onnx.timing.bench import ProcessResult

        return ProcessResult.from_dict(self.result) if self.kind == "bench" and self.result else None

    @property
    def parity(self) -> ExportParity | None:
        """A parity job's result, typed (its export record and cells); None for another job or a lost one."""
        from aibench_onnx.parity.cell import ExportParity  # numpy: not at the CLI's start

        return ExportParity.from_dict(self.result) if self.kind == "parity" and self.result else None

    def to_dict(self) -> dict:
        """The line's fields; the optional ones only when set, as the lines have always been written."""
        optional = ("result", "round", "target", "node")
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in optional or getattr(self, f.name) is not None}

    @classmethod
    def from_dict(cls, data: dict) -> JobRecord:
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


Finish = Callable[[JobRecord], None]  # what an executor hands each finished job's record to


def append_record(run_dir: Path, record: JobRecord) -> None:
    line = json.dumps({"schema_version": RESULTS_SCHEMA_VERSION, **record.to_dict()}, default=json_default)
    with open(run_dir / RESULTS_FILE, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def load_records(run_dir: Path) -> tuple[list[JobRecord], list[str]]:
    """Records in file order, and one problem line per corrupt or truncated line (which is skipped)."""
    path = run_dir / RESULTS_FILE
    if not path.exists():
        return [], []
    records, problems = [], []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict) or "job_id" not in record:
                    raise ValueError("not a job record")
            except ValueError as exc:
                problems.append(f"{path.name} line {number}: unreadable record skipped ({exc})")
                continue
            if record.get("schema_version", 0) > RESULTS_SCHEMA_VERSION:
                raise UserError(f"{path}: line {number} has schema version {record['schema_version']}, newer than "
                                f"this aibench ({RESULTS_SCHEMA_VERSION}); upgrade aibench-onnx")
            records.append(JobRecord.from_dict(record))
    return records, problems


def write_run_file(run_dir: Path, document: dict) -> None:
    tmp = run_dir / (RUN_FILE + ".tmp")
    tmp.write_text(json.dumps({"kind": RUN_KIND, "schema_version": RESULTS_SCHEMA_VERSION, **document}, indent=2,
                              default=json_default))
    os.replace(tmp, run_dir / RUN_FILE)


def load_run(run_dir: str | Path) -> dict:
    """run.json of a run directory, or a one-line UserError when it is not one."""
    path = Path(run_dir)
    if not path.is_dir():
        raise UserError(f"{run_dir}: not a directory")
    try:
        document = json.loads((path / RUN_FILE).read_text())
    except FileNotFoundError:
        raise UserError(f"{run_dir}: not an aibench run (no {RUN_FILE})") from None
    except ValueError as exc:
        raise UserError(f"{run_dir}/{RUN_FILE}: unreadable ({exc})") from None
    if not isinstance(document, dict) or document.get("kind") != RUN_KIND:
        raise UserError(f"{run_dir}: not an aibench run ({RUN_FILE} has no kind '{RUN_KIND}')")
    if document.get("schema_version", 0) > RESULTS_SCHEMA_VERSION:
        raise UserError(f"{run_dir}: schema version {document['schema_version']} is newer than this aibench "
                        f"({RESULTS_SCHEMA_VERSION}); upgrade aibench-onnx")
    return document


def is_run_directory(path: str | Path) -> bool:
    try:
        load_run(path)
        return True
    except UserError:
        return False


def latest_records(records: list[JobRecord]) -> dict[str, JobRecord]:
    """job_id -> its last record (a resumed run may hold an earlier crashed attempt)."""
    return {record.job_id: record for record in records}


# Typed readers of records: what compare reads (the report walks records in job order, for its warnings).

@dataclass(frozen=True)
class TimedBatch:
    """One batch of one timed configuration that finished in one process: its raw samples."""

    model: str
    label: str  # the runtime configuration, e.g. torch-eager or ort:torch-graph:cpu:all
    batch: int
    round: int  # which replicate (process) of the configuration; 0 in runs from before replicates
    samples_s: list[float]


def timed_batches(records: Iterable[JobRecord]) -> list[TimedBatch]:
    found = []
    for record in records:
        result = record.timing
        if result is None or result.status != Status.OK:
            continue
        for batch in sorted(result.batches):
            found.append(TimedBatch(record.model, result.config.label, batch, result.round, result.samples(batch)))
    return found


def parity_cells(records: Iterable[JobRecord]) -> list[dict]:
    """Every parity cell (model x framework x provider x level) of the parity records, as stored."""
    return [cell for record in records if record.kind == "parity" for cell in (record.result or {}).get("cells", [])]


EXPLAIN_FILE = "explain.json"  # `aibench explain RUN_DIR` (runs/explain_run.py)


def load_explanations(run_dir: Path) -> list[dict]:
    """The run's explain.json entries, or none (not explained yet, or unreadable: the report says nothing)."""
    path = Path(run_dir) / EXPLAIN_FILE
    try:
        return json.loads(path.read_text()).get("explanations", []) if path.exists() else []
    except (OSError, ValueError):
        return []


def load_bench_document(path: str | Path, alternatives: str = "a run directory") -> dict:
    """The JSON `aibench bench --json` wrote at `path`, or a one-line UserError saying what else the command
    takes (`alternatives`) and what is wrong with this one (unreadable, another command's, a newer schema)."""
    from aibench_onnx.timing.bench import BENCH_SCHEMA_VERSION

    try:
        document = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: not {alternatives} nor a readable bench JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("command") != "bench":
        raise UserError(f"{path}: not {alternatives} nor the JSON of `aibench bench --json`")
    if document.get("schema_version", 0) > BENCH_SCHEMA_VERSION:
        raise UserError(f"{path}: bench schema version {document['schema_version']} is newer than this aibench "
                        f"({BENCH_SCHEMA_VERSION}); upgrade aibench-onnx")
    return document


def bench_runs(document: dict) -> list[Path]:
    """The run directories a bench document is a view of (runs/bench.py); none in documents written before
    benches were runs, or when the runs are gone: the document's own numbers are read then."""
    runs = [Path(run_dir) for run_dir in document.get("runs", [])]
    return runs if runs and all(is_run_directory(run_dir) for run_dir in runs) else []


def add_jobs(run_dir: Path, job_ids: list[str]) -> None:
    """Extend run.json's plan with jobs decided during the run (rounds added for unresolved effects), so the
    report and --resume count them."""
    document = load_run(run_dir)
    document["jobs"] = list(dict.fromkeys(document.get("jobs", []) + job_ids))
    write_run_file(run_dir, {k: v for k, v in document.items() if k not in ("kind", "schema_version")})
