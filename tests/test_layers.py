"""The layering contract (pyproject.toml, [tool.importlinter]; docs/architecture.md): each stage imports only the
stages below it and no two subpackages import each other, counting imports inside functions. Checked with
import-linter on a copy of the package laid out as it installs (models/ and exporters/ inside aibench_onnx/,
where pip's package-dir mapping puts them and import-linter would not otherwise find them)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def installed_layout(target: Path) -> Path:
    """aibench_onnx/ with models/ and exporters/ inside it, and the contract beside it, under `target`."""
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "aibench_onnx", target / "aibench_onnx", ignore=ignore)
    for mapped in ("models", "exporters"):
        shutil.copytree(ROOT / mapped, target / "aibench_onnx" / mapped, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(lint), "--no-cache", "--config", str(tree / "pyproject.toml")], cwd=tree,
                          capture_output=True, text=True, env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"})


def test_the_package_keeps_its_layers_and_has_no_cycles(tmp_path):
    result = lint_imports(installed_layout(tmp_path))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "2 kept, 0 broken" in result.stdout


def plant(tree: Path, module: str, imported: str) -> None:
    """Add `from PACKAGE import MODULE` inside a function at the end of `module` (a path under aibench_onnx/)."""
    package, _, name = imported.rpartition(".")
    path = tree / "aibench_onnx" / module
    path.write_text(path.read_text() + f"\n\ndef _planted():\n    from {package} import {name}\n\n    return {name}\n")


def test_a_planted_upward_import_inside_a_function_breaks_the_contract(tmp_path):
    tree = installed_layout(tmp_path)
    plant(tree, "zoo/registry.py", "aibench_onnx.runs.store")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "aibench_onnx.zoo.registry -> aibench_onnx.runs.store" in result.stdout


def test_a_planted_cycle_between_sibling_modules_breaks_the_contract(tmp_path):
    tree = installed_layout(tmp_path)
    plant(tree, "ort/session.py", "aibench_onnx.ort.timed")  # timed imports session
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "No cycles are allowed in aibench_onnx.ort" in result.stdout


def test_a_new_subpackage_must_be_given_its_layer(tmp_path):
    tree = installed_layout(tmp_path)
    (tree / "aibench_onnx" / "newstage").mkdir()
    (tree / "aibench_onnx" / "newstage" / "__init__.py").write_text("")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "newstage" in result.stdout + result.stderr


def runtime_names_outside_its_packages(package: Path) -> list[str]:
    """Where code outside ort/ and runtimes/ names ONNX Runtime's kind (the string "ort"): such code should ask
    the runtime registry what a runtime can do instead (runtimes.REFERENCE, is_reference, the entry's fields)."""
    import ast

    found = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package).as_posix()
        if relative.startswith(("ort/", "runtimes/")):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value == "ort":
                found.append(f"{relative}:{node.lineno}")
    return found


def test_no_module_outside_the_runtime_packages_names_onnx_runtimes_kind(tmp_path):
    assert runtime_names_outside_its_packages(ROOT / "aibench_onnx") == []
    tree = installed_layout(tmp_path)
    path = tree / "aibench_onnx" / "timing" / "effects.py"
    path.write_text(path.read_text() + '\n\ndef _planted(kind):\n    return kind == "ort"\n')
    assert runtime_names_outside_its_packages(tree / "aibench_onnx") == [
        f"timing/effects.py:{len(path.read_text().splitlines())}"]
