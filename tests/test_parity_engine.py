"""The comparison engine on planted differences: every number it reports, and every way it must fail."""

import math

import numpy as np
import pytest

from aibench_onnx.parity.engine import compare_output, compare_outputs, merge
from aibench_onnx.zoo.spec import Tolerance

TOL = Tolerance(rtol=1e-4, atol=1e-5)


def test_identical_outputs_pass_with_zero_error():
    x = np.linspace(-3, 3, 50, dtype=np.float32)
    row = compare_output("y", x, x.copy(), TOL)
    assert row.passed and row.max_abs == 0 and row.mismatch_fraction == 0 and row.min_passing_atol == 0
    assert row.cosine == pytest.approx(1.0)


def test_numbers_for_a_planted_error():
    expected = np.ones(100, dtype=np.float32)
    actual = expected.copy()
    actual[7] += 1e-3  # one element off by 1e-3
    row = compare_output("y", expected, actual, TOL)
    assert not row.passed
    assert row.max_abs == pytest.approx(1e-3, rel=1e-3)
    assert row.max_rel == pytest.approx(1e-3, rel=1e-3)
    assert row.mismatch_fraction == pytest.approx(0.01)
    # smallest atol that passes at rtol 1e-4: 1e-3 - 1e-4 * 1
    assert row.min_passing_atol == pytest.approx(9e-4, rel=1e-3)
    assert "1 of 100 elements" in row.reason


def test_min_passing_atol_really_is_the_boundary():
    rng = np.random.default_rng(0)
    expected = rng.standard_normal(1000).astype(np.float32)
    actual = (expected + rng.standard_normal(1000).astype(np.float32) * 1e-3).astype(np.float32)
    row = compare_output("y", expected, actual, TOL)
    boundary = row.min_passing_atol
    assert compare_output("y", expected, actual, Tolerance(TOL.rtol, boundary * 1.001)).passed
    assert not compare_output("y", expected, actual, Tolerance(TOL.rtol, boundary * 0.99)).passed


def test_nan_in_different_places_fails_and_same_places_pass():
    expected = np.array([1.0, np.nan, np.inf, -np.inf], dtype=np.float32)
    assert compare_output("y", expected, expected.copy(), TOL).passed
    moved = np.array([np.nan, 1.0, np.inf, -np.inf], dtype=np.float32)
    row = compare_output("y", expected, moved, TOL)
    assert not row.passed and row.nonfinite_match is False and math.isinf(row.min_passing_atol)
    flipped = np.array([1.0, np.nan, -np.inf, -np.inf], dtype=np.float32)
    assert not compare_output("y", expected, flipped, TOL).passed


def test_shape_and_dtype_mismatch_fail_with_reason():
    a = np.zeros((2, 3), np.float32)
    assert "shape" in compare_output("y", a, np.zeros((3, 2), np.float32), TOL).reason
    assert "dtype" in compare_output("y", a, np.zeros((2, 3), np.float64), TOL).reason


def test_missing_and_unexpected_outputs_are_failures():
    rows = compare_outputs({"a": np.zeros(2, np.float32)}, {"b": np.zeros(2, np.float32)})
    reasons = {row.name: row.reason for row in rows}
    assert reasons == {"a": "output missing", "b": "unexpected output"}


def test_integer_outputs_compare_exactly():
    rows = compare_outputs({"ids": np.array([1, 2, 3])}, {"ids": np.array([1, 2, 4])})
    assert not rows[0].passed and rows[0].atol == 0 and rows[0].rtol == 0


def test_merge_keeps_the_worst_case_over_input_sets():
    good = compare_output("y", np.ones(4, np.float32), np.ones(4, np.float32), TOL)
    off = np.ones(4, np.float32)
    off[0] = 1.5
    bad = compare_output("y", np.ones(4, np.float32), off, TOL)
    merged = merge([[good], [bad], [good]])
    assert len(merged) == 1
    assert not merged[0].passed and merged[0].max_abs == pytest.approx(0.5) and merged[0].samples == 3


def test_tf32_runs_are_judged_with_tf32_tolerances_and_only_float32_widens():
    from aibench_onnx.parity.zoo import tolerance_policy
    from aibench_onnx.zoo.registry import get_spec
    from aibench_onnx.zoo.spec import DEFAULT_TOLERANCES, TF32_TOLERANCE

    policy = tolerance_policy(get_spec("cnn"))
    assert policy.tolerance("float32") == DEFAULT_TOLERANCES["float32"]
    widened = policy.tolerance("float32", tf32=True)
    assert (widened.rtol, widened.atol) == (TF32_TOLERANCE.rtol, TF32_TOLERANCE.atol) and "TF32" in widened.reason
    assert policy.tolerance("int64", tf32=True) == DEFAULT_TOLERANCES["int64"]
    scaled = policy.tolerance("float32", atol_scale=50, tf32=True)
    assert scaled.atol == pytest.approx(50 * TF32_TOLERANCE.atol) and scaled.rtol == TF32_TOLERANCE.rtol
    # an error TF32 makes (5e-4 relative on logits of ~40) fails the float32 default and passes under TF32
    expected = {"logits": np.full((2, 10), 40.0, dtype=np.float32)}
    actual = {"logits": expected["logits"] * np.float32(1 + 5e-4)}
    assert not compare_outputs(expected, actual, policy.tolerance)[0].passed
    assert compare_outputs(expected, actual, lambda dtype: policy.tolerance(dtype, tf32=True))[0].passed


def test_cuda_sessions_run_without_tf32_unless_asked():
    from aibench_onnx.ort.session import cuda_options, provider_chain

    assert provider_chain("cuda") == [("CUDAExecutionProvider", {"use_tf32": "0"})]
    assert provider_chain("cuda", cuda_options(True)) == [("CUDAExecutionProvider", {"use_tf32": "1"})]
    assert provider_chain("tensorrt")[1] == ("CUDAExecutionProvider", {"use_tf32": "0"})
    assert provider_chain("cpu") == [("CPUExecutionProvider", {})]


def test_one_verdict_over_named_input_sets_with_a_scaled_set_and_the_sets_named_in_the_reason():
    """parity/judging.judge_sets, which zoo models, users' models and files share: the headline merges the
    natural-scale sets; a set whose inputs were scaled up is judged with its atol scaled alike (and, for
    int8-static, which is calibrated on natural data, left out of the verdict); the reason names the output and
    the failing sets — with their shapes when the first set passes at other sizes."""
    from aibench_onnx.parity.cell import ParityCell
    from aibench_onnx.parity.judging import InputSet, TolerancePolicy, judge_sets
    from aibench_onnx.status import Status

    def cell(precision="fp32"):
        return ParityCell("m", "", "", "", "cpu", "all", Status.PASSED, precision=precision)

    y = np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 4)
    sets = [InputSet("seed0", {"x": y}), InputSet("seed1", {"x": y}), InputSet("batch5", {"x": np.ones((5, 4))}),
            InputSet("large", {"x": y * 50}, atol_scale=50.0)]
    zero = np.zeros_like(y)  # outputs at zero: only atol decides
    expected = [{"y": y}, {"y": y}, {"y": y}, {"y": zero}]
    off_in_large = [{"y": y}, {"y": y}, {"y": y}, {"y": zero + 2e-4}]  # 20x float32's atol: within atol x50
    passed = cell()
    judge_sets(passed, sets, expected, off_in_large, TolerancePolicy())
    assert passed.status == Status.PASSED and passed.cases["large"]["atol"] == pytest.approx(50 * 1e-5)
    assert passed.max_abs == 0.0  # the large set stays out of the headline numbers
    unscaled = cell()
    judge_sets(unscaled, sets[:3] + [InputSet("large", {"x": y * 50})], expected, off_in_large, TolerancePolicy())
    assert unscaled.status == Status.FAILED and unscaled.failing_sets == [3]  # the same error, atol unscaled

    wrong_seed1 = [{"y": y}, {"y": y + 1e-2}, {"y": y}, {"y": zero}]
    failed = cell()
    judge_sets(failed, sets, expected, wrong_seed1, TolerancePolicy())
    assert failed.status == Status.FAILED and failed.failing_sets == [1]
    assert failed.reason.startswith("y: ") and failed.reason.endswith("(input sets: seed1)")
    wrong_batch5 = [{"y": y}, {"y": y}, {"y": y + 1e-2}, {"y": zero}]
    failed = cell()
    judge_sets(failed, sets, expected, wrong_batch5, TolerancePolicy())
    assert "(input set batch5 only: x [5, 4]; set seed0 passes)" in failed.reason
    large_expected = expected[:3] + [{"y": y * 50}]
    wrong_large = [{"y": y}, {"y": y}, {"y": y}, {"y": -y * 50}]  # sign flipped: cosine -1
    beyond = cell("int8-static")
    judge_sets(beyond, sets, large_expected, wrong_large, TolerancePolicy())
    assert beyond.status == Status.PASSED and not beyond.cases["large"]["passed"]
    fp32 = cell()
    judge_sets(fp32, sets, large_expected, wrong_large, TolerancePolicy())
    assert fp32.status == Status.FAILED and fp32.failing_sets == [3]
