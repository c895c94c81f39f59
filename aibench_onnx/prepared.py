"""What every runtime hands the timing loop: one prepared call and its sync.

A leaf, so that the runtime adapters (frameworks, ort, openvino) can build one without importing the timing
stage that measures it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


def no_sync() -> None:
    """The sync of a runtime whose call returns only when its work is done (CPU runtimes)."""
    return None


@dataclass
class Prepared:
    """One thing to time, as every runtime hands it to the loop: `run()` does only the computation the
    runtime would do in production (inputs already on its device), `sync()` waits for the device."""

    run: Callable[[], Any]
    sync: Callable[[], Any]
    info: dict = field(default_factory=dict)  # device, TF32 state, provider options, ...
    cold: dict = field(default_factory=dict)  # seconds: session creation, ...
