"""Reports and comparisons on synthetic run directories (real formats, planted numbers), and bad input."""

import json
import re
import shutil
import subprocess

import pytest
from run_fixtures import bench_record, make_run, parity_record, timings
from typer.testing import CliRunner

from aibench_onnx.cli import app
from aibench_onnx.runs.report import build_report

runner = CliRunner()


def one_line_error(result, code=2):
    assert result.exit_code == code, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    return lines[0]


@pytest.fixture()
def sample_run(tmp_path):
    return make_run(tmp_path / "run", [
        parity_record("mlp", "torch", "passed", 1e-7),
        parity_record("mlp", "jax", "failed", 3e-2),
        bench_record("mlp", "torch-eager", {1: timings(2e-3)}),
        bench_record("mlp", "ort:torch-graph:cpu:all", {1: timings(1e-3, seed=1)}),
        bench_record("mlp", "jax-jit", {1: timings(1.5e-3, seed=2)}),
        bench_record("mlp", "ort:jax-graph:cpu:all", {1: timings(1.5e-3, seed=3)}),
    ])


def on_target(record: dict, target: str) -> dict:
    return {**record, "job_id": f"{record['job_id']}@{target}", "target": target}


def test_a_ray_run_keeps_targets_apart_and_compares_the_same_configuration_across_them(tmp_path):
    """Records of two targets: each target's model is its own table (mlp@a, mlp@b), and the hardware effect
    pairs the same configuration across targets (planted: b 1.3x slower) — from the records' target field."""
    records = [on_target(bench_record("mlp", "torch-eager", {1: timings(median, seed=10 * i + r)}, r), target)
               for i, (target, median) in enumerate((("a", 1e-3), ("b", 1.3e-3))) for r in range(3)]
    report = build_report(make_run(tmp_path / "ray", records, targets=["a", "b"]))
    assert set(report.latency) == {"mlp@a", "mlp@b"}
    (effect,) = report.hardware["mlp"]
    assert effect["baseline"] == "torch-eager @ a" and effect["candidate"] == "torch-eager @ b"
    assert effect["ratio"] == pytest.approx(1.3, rel=0.02)
    assert report.phases == {}


def test_compare_reports_a_planted_20_percent_slowdown_and_gates_it(tmp_path):
    base = make_run(tmp_path / "base", [bench_record("mlp", "torch-eager", {1: timings(1e-3, seed=1)})])
    new = make_run(tmp_path / "new", [bench_record("mlp", "torch-eager", {1: timings(1.2e-3, seed=2)})])
    target = tmp_path / "cmp.json"
    result = runner.invoke(app, ["compare", str(base), str(new), "--fail-on", "median:5%", "--json", str(target)])
    assert result.exit_code == 1, result.output
    row = json.loads(target.read_text())["rows"][0]
    assert row["verdict"] == "slower" and row["ratio"] == pytest.approx(1.2, rel=0.02)
    assert row["ci_low"] > 1.15 and "gate failed" in result.output


def test_compare_two_runs_of_one_configuration_is_no_significant_change(tmp_path):
    base = make_run(tmp_path / "base", [bench_record("mlp", "torch-eager", {1: timings(1e-3, seed=1)})])
    new = make_run(tmp_path / "new", [bench_record("mlp", "torch-eager", {1: timings(1e-3, seed=2)})])
    target = tmp_path / "cmp.json"
    result = runner.invoke(app, ["compare", str(base), str(new), "--fail-on", "median:5%", "--json", str(target)])
    assert result.exit_code == 0, result.output
    assert json.loads(target.read_text())["rows"][0]["verdict"] == "no significant change"


def test_compare_flags_parity_regressions_and_environment_changes(tmp_path):
    base = make_run(tmp_path / "base", [parity_record("mlp", "torch", "passed", 1e-7)],
                    environment={"packages": {"onnx": {"version": "1.22.0"}}})
    new = make_run(tmp_path / "new", [parity_record("mlp", "torch", "failed", 1e-1)],
                   environment={"packages": {"onnx": {"version": "1.23.2"}}})
    result = runner.invoke(app, ["compare", str(base), str(new)])
    assert result.exit_code == 1
    assert "parity regressed" in result.output and "onnx: 1.22.0 -> 1.23.2" in result.output


def test_compare_bad_input(tmp_path):
    base = make_run(tmp_path / "base", [bench_record("mlp", "torch-eager", {1: timings(1e-3)})])
    other = make_run(tmp_path / "other", [bench_record("cnn", "jax-jit", {1: timings(1e-3)})])
    assert "no configuration in common" in one_line_error(runner.invoke(app, ["compare", str(base), str(other)]))
    (tmp_path / "empty").mkdir()
    assert "not an aibench run" in one_line_error(runner.invoke(app, ["compare", str(base), str(tmp_path / "empty")]))
    assert "median:N%" in one_line_error(runner.invoke(app, ["compare", str(base), str(base), "--fail-on", "p50:5"]))


def test_newer_schema_is_refused(tmp_path, sample_run):
    document = json.loads((sample_run / "run.json").read_text())
    document["schema_version"] = 99
    (sample_run / "run.json").write_text(json.dumps(document))
    assert "newer" in one_line_error(runner.invoke(app, ["report", str(sample_run)]))


def test_corrupt_and_truncated_lines_are_reported_and_skipped(sample_run):
    with open(sample_run / "results.jsonl", "a") as handle:
        handle.write("this is not json\n")
        handle.write('{"job_id": "bench/mlp/x", "kind": "bench", "stat')  # truncated by a crash mid-write
    report = build_report(sample_run)
    assert sum("unreadable record skipped" in w for w in report.warnings) == 2
    assert len(report.parity) == 2 and "mlp" in report.latency
    result = runner.invoke(app, ["report", str(sample_run), "--format", "markdown"])
    assert result.exit_code == 0 and "unreadable record skipped" in result.output


def test_markdown_report_has_every_section_and_escapes(sample_run):
    report = build_report(sample_run)
    assert {e["kind"] for e in report.effects["mlp"]} == {"runtime", "exporter"}
    from aibench_onnx.report.run_views import markdown

    report.parity[1]["reason"] = "a | b <script>"
    text = markdown(report)
    for heading in ("## Parity", "## Latency: mlp", "### Where the time goes: mlp", "## Warnings"):
        assert heading in text
    assert "a \\| b &lt;script&gt;" in text and "<script>" not in text


def test_html_report_is_self_contained_with_every_chart(sample_run, tmp_path):
    target = tmp_path / "report.html"
    result = runner.invoke(app, ["report", str(sample_run), "--format", "html", "-o", str(target)])
    assert result.exit_code == 0, result.output
    page = target.read_text()
    assert page.count("<svg") >= 3  # parity heatmap, ORT-vs-native speed-up, latency per model
    for marker in ("id='parity-heatmap'", "id='speedup'", "class='latency'"):
        assert marker in page
    # self-contained: nothing to fetch (namespace URIs inside SVG metadata are names, not requests)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page) and "<script" not in page
    assert "<link" not in page and "@import" not in page


def test_every_report_opens_with_the_headline_and_keeps_settings_for_the_end(sample_run, tmp_path):
    report = build_report(sample_run)
    parity, runtime, graph, timing = report.headline
    assert parity.startswith("Parity: 1 of 2 cells passed, 1 failed") and "mlp/jax/cpu/all" in parity
    assert runtime.startswith("Largest runtime effect: mlp batch 1: ort:torch-graph:cpu:all vs torch-eager: 2.00x faster")
    assert graph.startswith("Largest graph (exporter, optimizer) effect:") and timing.startswith("Timing: 4 measurements")
    from aibench_onnx.report.html_report import render_html
    from aibench_onnx.report.run_views import markdown

    page = render_html(report)
    assert page.index("id='summary'") < page.index("parity-heatmap") < page.index("<h2>Settings</h2>")
    assert "{'" not in page  # no Python dict on the page
    text = markdown(report)
    assert text.index("**Parity:") < text.index("## Parity") < text.index("## Settings")


def test_report_json_is_the_report_data_and_says_what_failed(sample_run, tmp_path):
    """`report --json -`: only JSON on stdout (the tables go to stderr), every row the tables summarize; a run
    directory that is not one: one line, exit 2, and the JSON document says what failed."""
    result = runner.invoke(app, ["report", str(sample_run), "--json", "-"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    report = build_report(sample_run)
    assert document["command"] == "report" and document["run_dir"] == str(sample_run)
    assert document["parity"] == report.parity and document["latency"] == report.latency
    assert [e["kind"] for e in document["effects"]["mlp"]] == [e["kind"] for e in report.effects["mlp"]]
    assert document["timed"] == {"mlp": {"model": "mlp", "target": None}}
    assert document["headline"] == report.headline
    missing = runner.invoke(app, ["report", str(tmp_path / "nowhere"), "--json", str(tmp_path / "r.json")])
    assert missing.exit_code == 2 and "Traceback" not in missing.output
    failed = json.loads((tmp_path / "r.json").read_text())
    assert failed["status"] == "error" and "nowhere" in failed["reason"]


def test_html_report_escapes_user_strings(sample_run):
    from aibench_onnx.report.html_report import render_html

    report = build_report(sample_run)
    report.parity[1]["reason"] = "<img src=x onerror=alert(1)>"
    page = render_html(report)
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_html_report_renders_in_headless_chromium(sample_run, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is needed for this test: apt-get install chromium (done by .ci/run)"
    page = tmp_path / "report.html"
    assert runner.invoke(app, ["report", str(sample_run), "--format", "html", "-o", str(page)]).exit_code == 0
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([chromium, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.stdout.count("<svg") >= 3, dom.stderr[-2000:]
    shot = tmp_path / "shot.png"
    subprocess.run([chromium, *flags, f"--screenshot={shot}", "--window-size=1200,2400", page.as_uri()],
                   capture_output=True, timeout=120)
    import matplotlib.image

    pixels = matplotlib.image.imread(str(shot))
    assert pixels.std() > 0.05  # not a blank page


def test_report_of_a_directory_that_is_not_a_run(tmp_path):
    assert "not an aibench run" in one_line_error(runner.invoke(app, ["report", str(tmp_path)]))
    assert "valid: terminal, markdown, html" in one_line_error(
        runner.invoke(app, ["report", str(tmp_path), "--format", "pdf"]))


def test_a_run_written_by_the_previous_version_still_reports_compares_and_explains(tmp_path):
    """tests/data/run-stop17-quick-matmul: `aibench run --quick --models matmul -f torch --repeats 2` written by
    the version before the layered rewrite (stop 17): no graph names, runtimes or exporter records of today."""
    from pathlib import Path

    from aibench_onnx.runs.compare import compare_runs
    from aibench_onnx.runs.report import build_report

    run_dir = tmp_path / "old-run"
    shutil.copytree(Path(__file__).parent / "data" / "run-stop17-quick-matmul", run_dir)
    report = build_report(run_dir)
    assert report.jobs_done == report.jobs_planned == 5
    assert [(row["framework"], row["ep"], row["opt_level"], row["status"]) for row in report.parity] == [
        ("torch", "cpu", "all", "passed")]
    assert {(e["baseline"], e["candidate"]) for e in report.effects["matmul"]} >= {
        ("torch-eager", "ort:torch-graph:cpu:all")}
    compared = compare_runs(str(run_dir), str(run_dir), None)
    assert compared.rows and not compared.gate_failures
    result = runner.invoke(app, ["report", str(run_dir)])
    assert result.exit_code == 0, result.output
    assert "ort:torch-graph:cpu:all" in result.output
    # and explains: its graphs were written on another machine, so each effect says why it is not split
    explained = runner.invoke(app, ["explain", str(run_dir), "--all", "--json", str(tmp_path / "why.json")])
    assert explained.exit_code == 0, explained.output
    why = json.loads((tmp_path / "why.json").read_text())
    assert why["explanations"] and all("not on disk" in e["not_explained"] for e in why["explanations"])


def test_several_runs_a_side_pool_their_processes_so_the_ci_counts_how_runs_differ(tmp_path):
    # every process of a run shares its run's state (here: 1.0 or 1.5 ms) — one run a side cannot know it
    def run(name, medians):
        return make_run(tmp_path / name, [bench_record("mlp", "torch-eager", {1: timings(m, seed=i)}, i)
                                          for i, m in enumerate(medians)])

    fast, slow = run("fast", [1.0e-3, 1.01e-3, 0.99e-3]), run("slow", [1.5e-3, 1.49e-3, 1.51e-3])
    fast2, slow2 = run("fast2", [1.0e-3, 0.995e-3, 1.005e-3]), run("slow2", [1.5e-3, 1.5e-3, 1.52e-3])
    alone = runner.invoke(app, ["compare", str(fast), str(slow), "--fail-on", "median:5%"])
    assert alone.exit_code == 1 and "gate failed" in alone.output
    target = tmp_path / "pooled.json"
    pooled = runner.invoke(app, ["compare", f"{fast},{slow}", f"{fast2},{slow2}", "--fail-on", "median:5%",
                                 "--json", str(target)])
    assert pooled.exit_code == 0, pooled.output
    row = json.loads(target.read_text())["rows"][0]
    assert row["processes"] == [6, 6] and row["ci_low"] < 1 < row["ci_high"]
    missing = runner.invoke(app, ["compare", f"{fast},{tmp_path / 'nowhere'}", str(slow)])
    assert missing.exit_code == 2 and "nowhere" in missing.output


def test_run_settings_are_one_typed_record_read_back_from_old_runs_with_their_defaults():
    from pathlib import Path

    from aibench_onnx.runs.settings import RunSettings
    from aibench_onnx.runs.store import load_run

    # written by stop 17, before typed settings
    old = load_run(Path(__file__).parent / "data" / "run-stop17-quick-matmul")["settings"]
    settings = RunSettings.from_dict(old)
    assert settings.frameworks == ("torch",) and settings.batches == (1, 4) and settings.repeats == 2
    assert settings.executor == "local" and settings.phases is None and settings.timing["min_time_s"] == 0.1
    assert RunSettings.from_dict(settings.to_dict()) == settings  # what run.json holds reads back equal
    assert RunSettings.from_dict({"frameworks": ["jax"], "a key a later version adds": 1}).frameworks == ("jax",)
