"""One elementwise tolerance: a spec's per-dtype tolerances and a precision's band are both one of these."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tolerance:
    """|actual - expected| <= atol + rtol * |expected|, elementwise."""

    rtol: float
    atol: float
    reason: str = "default for the dtype"
