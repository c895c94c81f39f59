"""Worker requests as typed records: built by the stage that asks, written as `to_dict()` JSON, and parsed once,
with `from_dict`, by the worker that answers (workers/__main__.py names it). A request shared by two stages
that may not import each other lives here, below both."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class OneSetCheck:
    """`check` on one graph with one input set and its expected outputs (the worker check_one_set): a generation
    step's failure localized and, with `repro_dir`, reduced to a reproduction."""

    path: str  # the graph
    input_file: str  # the input set (.npz)
    expected_file: str  # the reference's outputs on it (.npz): every graph output
    ep: str
    opt_levels: tuple[str, ...]  # "disabled" first (the level note compares with it), then the failing ones
    threads: int
    repro_dir: str | None = None

    @classmethod
    def at_failing_levels(cls, path: str, input_file: str, expected_file: str, ep: str, failing: set[str],
                          threads: int, repro_dir: str | None) -> OneSetCheck:
        """The check of the levels that failed, with level disabled first (the level note compares with it)."""
        levels = ("disabled", *sorted(failing - {"disabled"}))
        return cls(path, input_file, expected_file, ep, levels, threads, repro_dir)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> OneSetCheck:
        return cls(**{**data, "opt_levels": tuple(data["opt_levels"])})
