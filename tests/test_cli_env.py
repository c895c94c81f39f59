"""`aibench env` and the CLI's basic contract, through typer's CliRunner and the real entry point."""

import json

import pytest
from helpers import run_aibench
from typer.testing import CliRunner

from aibench_onnx.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def env_document() -> dict:
    result = runner.invoke(app, ["env", "--json", "-"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # '-' means nothing but JSON on stdout


def test_help_lists_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "env" in result.stdout and "Exit codes" in result.stdout


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.startswith("aibench-onnx ")


@pytest.mark.parametrize("argv", [["no-such-command"], ["env", "--no-such-flag"]])
def test_usage_errors_exit_2(argv):
    result = runner.invoke(app, argv)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_env_reports_system_and_versions(env_document):
    system = env_document["system"]
    assert system["logical_cores"] >= 1 and system["physical_cores"] >= 1
    assert system["memory_total_gib"] > 0
    assert env_document["packages"]["numpy"]["version"]
    assert env_document["packages"]["onnx"]["version"]
    assert env_document["schema_version"] == 1


def test_env_cpu_provider_really_loads(env_document):
    providers = {p["provider"]: p for p in env_document["onnxruntime"]["probe"]["providers"]}
    cpu = providers["CPUExecutionProvider"]
    assert cpu["loads"] and cpu["session_providers"][0] == "CPUExecutionProvider"


def test_env_listed_cuda_provider_is_verified_not_trusted(env_document):
    probe = env_document["onnxruntime"]["probe"]
    if env_document["onnxruntime"]["install"]["build"] != "gpu":
        pytest.fail("the README install must give the GPU build of onnxruntime")
    assert "CUDAExecutionProvider" in probe["available_providers"]
    cuda = next(p for p in probe["providers"] if p["provider"] == "CUDAExecutionProvider")
    if not env_document["gpu"]["gpus"]:
        # No GPU: listed, but it must be reported as not loading, with the reason.
        assert cuda["loads"] is False
        assert cuda["session_providers"] == ["CPUExecutionProvider"]
        assert cuda["reason"] and ("cannot open shared object" in cuda["reason"] or "Failed" in cuda["reason"])
    elif not cuda["loads"]:
        assert cuda["reason"]


def test_env_json_to_file_also_prints_the_table(tmp_path):
    target = tmp_path / "env.json"
    result = runner.invoke(app, ["env", "--json", str(target)])
    assert result.exit_code == 0, result.output
    assert "ONNX Runtime" in result.stdout and "CPUExecutionProvider" in result.stdout
    assert json.loads(target.read_text())["system"]["python"].startswith(("CPython", "PyPy"))


@pytest.mark.parametrize("bad_target", ["/nonexistent-dir/env.json", "/proc/env.json", "DIR"])
def test_env_json_unwritable_is_one_line_exit_2(tmp_path, bad_target):
    target = str(tmp_path) if bad_target == "DIR" else bad_target
    result = runner.invoke(app, ["env", "--json", target])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output


def test_entry_point_runs_in_a_subprocess():
    version = run_aibench("--version")
    assert version.returncode == 0 and "aibench-onnx" in version.stdout
    result = run_aibench("env", "--json", "-")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["onnxruntime"]["probe"]["import_ok"] is True
    usage = run_aibench("frobnicate")
    assert usage.returncode == 2 and "Traceback" not in usage.stderr


def test_broken_onnxruntime_is_reported_not_fatal(tmp_path):
    """An onnxruntime whose import fails: env still prints everything else and says what is broken."""
    fake = tmp_path / "onnxruntime"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('libonnxruntime.so.1: cannot open shared object file')\n")
    result = run_aibench("env", "--json", "-", env={"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["onnxruntime"]["probe"]["import_ok"] is False
    assert any("onnxruntime is broken" in w and "libonnxruntime.so.1" in w for w in document["warnings"])
    assert document["packages"]["numpy"]["version"]  # everything else still reported
    table = run_aibench("env", env={"PYTHONPATH": str(tmp_path)})
    assert table.returncode == 0 and "onnxruntime cannot be used" in table.stdout


@pytest.mark.slow
@pytest.mark.torch
@pytest.mark.tf
@pytest.mark.jax
def test_env_frameworks_imports_each_in_its_own_process():
    result = run_aibench("env", "--frameworks", "--json", "-", timeout=600)
    assert result.returncode == 0, result.stderr
    frameworks = json.loads(result.stdout)["frameworks"]
    assert set(frameworks) == {"torch", "tensorflow", "jax"}
    for name, info in frameworks.items():
        assert info["ok"], (name, info)
        assert info["devices"], name
    assert "cpu" in frameworks["torch"]["devices"]
    assert any(d.startswith("CPU") for d in frameworks["tensorflow"]["devices"])
    assert any(d.startswith("cpu") for d in frameworks["jax"]["devices"])


def test_piped_output_gets_wide_tables_unless_columns_is_set(monkeypatch):
    from aibench_onnx.cli.common import PIPED_WIDTH, make_console

    monkeypatch.delenv("COLUMNS", raising=False)
    assert make_console().width == PIPED_WIDTH  # pytest captures stdout: not a terminal
    monkeypatch.setenv("COLUMNS", "100")
    assert make_console().width == 100


@pytest.mark.parametrize("argv, expected", [
    (["generate", "--batch", "1,4"], "--batch '1,4': this command takes one value"),
    (["generate", "--prompt", "x"], "--prompt 'x': expected comma-separated positive integers"),
    (["run", "--threads", "1,2"], "--threads '1,2': this command takes one count (bench sweeps several)"),
    (["noise", "--batch", "0"], "--batch '0': expected comma-separated positive integers"),
    (["export", "mlp"], "export needs the model's framework"),
])
def test_an_option_declared_once_is_parsed_the_same_by_every_command(argv, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, argv)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and expected in lines[0], result.output
    assert not any(tmp_path.iterdir())  # refused before anything was written


def test_every_shared_flag_is_declared_once_and_shows_in_its_group():
    import ast
    from pathlib import Path

    import aibench_onnx.cli as cli

    flags_in_signatures = []
    for path in Path(cli.__file__).parent.glob("*.py"):
        for function in ast.walk(ast.parse(path.read_text())):
            if isinstance(function, ast.FunctionDef):
                for default in function.args.defaults:
                    if isinstance(default, ast.Call) and getattr(default.func, "attr", "") == "Option":
                        flags_in_signatures += [(a.value, function.name) for a in default.args
                                                if isinstance(a, ast.Constant) and str(a.value).startswith("--")]
    by_flag: dict[str, set[str]] = {}
    for flag, command in flags_in_signatures:
        by_flag.setdefault(flag, set()).add(command)
    assert {flag: commands for flag, commands in by_flag.items() if len(commands) > 1} == {}
    text = runner.invoke(app, ["bench", "--help"], env={"COLUMNS": "200"}).output
    assert "Timing" in text and "Runtimes, providers and precision" in text and "x:float32[batch,16]" in text


def test_a_full_run_times_every_kind_its_frameworks_can_and_a_quick_run_its_first_look():
    from aibench_onnx.cli.runs import timed_runtimes
    from aibench_onnx.runs.run import FULL, QUICK

    full = timed_runtimes(None, FULL, ["torch", "jax"])  # it was a TypeError: FULL names no kinds
    assert {"torch-eager", "torch-compile", "jax-jit", "ort"} <= set(full) and "tf-xla" not in full
    assert timed_runtimes(None, QUICK, ["torch"]) == ["torch-eager", "ort"]
    assert timed_runtimes("ort", FULL, ["torch"]) == ["ort"]


def test_run_help_states_the_defaults_the_quick_and_full_modes_use():
    """The help's defaults are written out by hand: held here against the modes (they had drifted: quick 60 s and 6
    rounds against the mode's 30 and 5)."""
    from aibench_onnx.runs.run import FULL, QUICK

    text = " ".join(runner.invoke(app, ["run", "--help"], env={"COLUMNS": "300"}).output.split())
    assert f"(default {FULL['budget_s']:g}; quick {QUICK['budget_s']:g})" in text
    assert f"(default {FULL['max_repeats']}; quick {QUICK['max_repeats']})" in text
    assert f"(default {FULL['target_mde']:.0%}; quick {QUICK['target_mde']:.0%};" in text
