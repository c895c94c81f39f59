"""A zoo model's failing fp32 ONNX Runtime cells, localized (and with `--repro DIR`, reduced to a reproduction)
as `check` does for a file: the exported graph checked on the input set where the cell failed, against the
framework's own outputs on it. `parity` and `run` call this for their zoo cells; the check runs in a worker of
its own, since ONNX Runtime may crash on the graph that fails."""

from __future__ import annotations

from pathlib import Path

from aibench_onnx.parity.cell import ParityCell
from aibench_onnx.requests import OneSetCheck
from aibench_onnx.runtimes import is_reference
from aibench_onnx.status import Status
from aibench_onnx.zoo.precision import FP32


def needs_localizing(cell: ParityCell) -> bool:
    """An fp32 ORT cell that failed: a wrong value (it has outputs), or a graph ORT would not run."""
    return is_reference(cell.runtime) and cell.precision == FP32 and cell.status == Status.FAILED


def localize_zoo_cells(export_path: str, cells: list[ParityCell], sets: dict[str, tuple[str, str]], threads: int,
                       directory: Path | None, timeout_s: float) -> None:
    """For each failing fp32 ORT cell: its first diverging node (cell.divergence) and, when `directory` is given,
    its reproduction bundle there (cell.repro). `sets`: input set name -> (inputs .npz, native outputs .npz)."""
    from aibench_onnx.launch import run_worker

    groups: dict[tuple[str, str], list[ParityCell]] = {}  # (input set, provider) -> its failing cells: one check
    # a graph ORT would not run has no node to localize: only a reproduction (--repro) is there to make of it
    for cell in (c for c in cells if needs_localizing(c) and (c.outputs or directory is not None)):
        failing = next((name for name, found in cell.cases.items() if not found.get("passed", True)), "")
        groups.setdefault((failing if failing in sets else next(iter(sets)), cell.ep), []).append(cell)
    for (failing, ep), group in groups.items():
        input_file, expected_file = sets[failing]
        request = OneSetCheck.at_failing_levels(export_path, input_file, expected_file, ep,
                                                {cell.opt_level for cell in group}, threads,
                                                str(directory) if directory is not None else None)
        outcome = run_worker("check_one_set", request.to_dict(), timeout_s)
        checked = {c["opt_level"]: c for c in outcome.document.get("cells", [])} if outcome.ok else {}
        for cell in group:
            found = checked.get(cell.opt_level)
            if found is None:
                cell.divergence = {"found": False, "note": f"localization did not finish: {outcome.reason}"}
                continue
            cell.divergence, cell.repro = found.get("divergence"), found.get("repro")
            if cell.divergence and cell.divergence.get("found"):
                cell.reason += (f"; first diverging node: {cell.divergence['node']} ({cell.divergence['op_type']}), "
                                f"input set {failing}")


def check_one_set(document: dict) -> dict:
    """The worker's job (requests.OneSetCheck): `check` on the exported graph with one input set and the
    framework's outputs on it as the reference, on one provider at level disabled and the failing levels."""
    from aibench_onnx.artifacts.variants import load_arrays
    from aibench_onnx.parity.check import check_onnx

    request = OneSetCheck.from_dict(document)
    result = check_onnx(request.path, eps=[request.ep], opt_levels=list(request.opt_levels), threads=request.threads,
                        inputs=load_arrays(request.input_file), expected=load_arrays(request.expected_file),
                        reference_is_model=True, repro_dir=request.repro_dir)
    return {"status": Status.OK, "cells": [cell.to_dict() for cell in result.cells]}
