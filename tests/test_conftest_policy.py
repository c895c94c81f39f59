"""The skip-or-fail policy itself: a missing framework must fail when CI demands every framework."""

import subprocess
import sys
import textwrap


def run_pytest_on(tmp_path, test_source: str, require: bool) -> subprocess.CompletedProcess:
    (tmp_path / "conftest.py").write_text(open(__file__.replace("test_conftest_policy.py", "conftest.py")).read())
    (tmp_path / "test_sample.py").write_text(textwrap.dedent(test_source))
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\naddopts = --strict-markers -p no:cacheprovider\nmarkers =\n    torch\n    tf\n    jax\n    gpu\n    slow\n"
    )
    env = {"PATH": "/usr/bin:/bin", "AIBENCH_REQUIRE_FRAMEWORKS": "1" if require else "0"}
    # A fake framework name that is never installed: patch the marker table through the test module.
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", str(tmp_path)],
        capture_output=True, text=True, env={**env, "PYTHONPATH": ":".join(sys.path)}, cwd=tmp_path,
    )


MISSING_FRAMEWORK_TEST = """
    import pytest
    import conftest
    conftest.FRAMEWORK_MARKERS["torch"] = (("surely_not_installed_module_xyz",), "torch")

    @pytest.mark.torch
    def test_needs_framework():
        assert True
"""


def test_missing_framework_skips_locally(tmp_path):
    result = run_pytest_on(tmp_path, MISSING_FRAMEWORK_TEST, require=False)
    assert "1 skipped" in result.stdout, result.stdout


def test_missing_framework_fails_when_required(tmp_path):
    result = run_pytest_on(tmp_path, MISSING_FRAMEWORK_TEST, require=True)
    assert result.returncode != 0
    assert "1 failed" in result.stdout or "1 error" in result.stdout, result.stdout
    assert "AIBENCH_REQUIRE_FRAMEWORKS is set" in result.stdout


def test_unknown_marker_is_rejected(tmp_path):
    result = run_pytest_on(tmp_path, "import pytest\n@pytest.mark.tourch\ndef test_x():\n    pass\n", require=False)
    assert result.returncode != 0
    assert "tourch" in result.stdout
