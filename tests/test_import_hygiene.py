"""No ML framework may be imported by the CLI module or by `aibench env` without --frameworks."""

import json
import subprocess
import sys

FORBIDDEN = ("torch", "tensorflow", "jax", "jaxlib", "flax", "tf2onnx", "jax2onnx", "onnxscript", "keras")


def loaded_modules(code: str) -> set[str]:
    script = code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))\n"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def forbidden_in(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in FORBIDDEN)


def test_importing_the_cli_loads_no_framework():
    modules = loaded_modules("import aibench_onnx.cli")
    assert forbidden_in(modules) == []
    # onnx and onnxruntime are not frameworks but are slow to import: the CLI module needs neither.
    assert "onnxruntime" not in modules and "onnx" not in modules and "openvino" not in modules


def test_env_command_loads_no_framework_in_process():
    code = (
        "from typer.testing import CliRunner\nfrom aibench_onnx.cli import app\n"
        "r = CliRunner().invoke(app, ['env', '--json', '-'])\nassert r.exit_code == 0, r.output\n"
    )
    assert forbidden_in(loaded_modules(code)) == []


def test_importing_the_package_and_subpackages_loads_no_framework():
    modules = loaded_modules("import aibench_onnx, aibench_onnx.models, aibench_onnx.exporters")
    assert forbidden_in(modules) == []


def test_only_frameworks_import_a_framework_and_only_ort_imports_onnxruntime():
    """The layout rule (README, Development): framework code lives in frameworks/ (and exporters/, models/ at
    the repository top), onnxruntime code in ort/, openvino code in openvino/. Checked on every import
    statement, in function bodies too."""
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent / "aibench_onnx"
    allowed = {name: "frameworks" for name in FORBIDDEN} | {"onnxruntime": "ort", "openvino": "openvino"}
    misplaced = []
    for path in sorted(package.rglob("*.py")):
        where = path.relative_to(package).parts[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                home = allowed.get(name.split(".")[0])
                if home is not None and where != home:
                    misplaced.append(f"{path.relative_to(package)}:{node.lineno} imports {name} (belongs in {home}/)")
    assert misplaced == []
