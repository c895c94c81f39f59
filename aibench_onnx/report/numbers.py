"""Number formats shared by every renderer, so one quantity reads the same in every table."""

from __future__ import annotations

MISSING = "—"


def sci(value: float | None, fmt: str = "{:.2e}") -> str:
    """Errors and tolerances: scientific notation; a dash when not measured."""
    return MISSING if value is None else fmt.format(value)


def ms(seconds: float | None) -> str:
    """Seconds shown as milliseconds with 4 significant digits; a dash when not measured."""
    return MISSING if seconds is None else f"{seconds * 1e3:.4g}"
