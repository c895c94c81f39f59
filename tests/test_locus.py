"""Where a failing output differs: the rows holding its mismatches, and the input mask whose zeros they are."""

import numpy as np

from aibench_onnx.parity.locus import describe_locus, mismatch_rows
from aibench_onnx.zoo.tolerance import Tolerance

TOLERANCE = Tolerance(1e-4, 1e-5)


def hidden_states_differing_at(rows: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    expected = np.random.default_rng(0).standard_normal((2, 12, 32)).astype(np.float32)
    actual = expected.copy()
    for batch, position in rows:
        actual[batch, position, :3] += 0.5
    return expected, actual


def test_mismatches_exactly_at_a_masks_zeros_are_named_as_padding():
    expected, actual = hidden_states_differing_at([(0, p) for p in range(5)])
    mask = np.ones((2, 12), np.int64)
    mask[0, :5] = 0
    rows = mismatch_rows(expected, actual, TOLERANCE)
    assert describe_locus(rows, {"input_ids": np.zeros((2, 12), np.int64) + 7, "attention_mask": mask}) == (
        "differs only at 5 of 24 rows (batch 0 positions 0-4), exactly where attention_mask is 0 (padding)")


def test_a_subset_of_the_masked_positions_and_unrelated_positions_are_told_apart():
    mask = np.ones((2, 12), np.int64)
    mask[1, 8:] = 0
    some_masked = mismatch_rows(*hidden_states_differing_at([(1, 10), (1, 11)]), TOLERANCE)
    assert describe_locus(some_masked, {"attention_mask": mask}).endswith("all where attention_mask is 0 (padding)")
    elsewhere = mismatch_rows(*hidden_states_differing_at([(0, 3), (1, 0), (1, 1)]), TOLERANCE)
    assert describe_locus(elsewhere, {"attention_mask": mask}) == (
        "differs only at 3 of 24 rows (batch 0 positions 3; batch 1 positions 0-1)")


def test_nothing_is_said_when_every_row_or_no_row_differs_or_the_output_has_one_axis():
    expected = np.ones((2, 4, 8), np.float32)
    assert describe_locus(mismatch_rows(expected, expected + 1, TOLERANCE), {}) is None
    assert describe_locus(mismatch_rows(expected, expected, TOLERANCE), {}) is None
    assert mismatch_rows(np.ones(4, np.float32), np.zeros(4, np.float32), TOLERANCE) is None
    nan = expected.copy()
    nan[1, 2, 0] = np.nan
    assert describe_locus(mismatch_rows(expected, nan, TOLERANCE), {}) == (
        "differs only at 1 of 8 rows (batch 1 positions 2)")
