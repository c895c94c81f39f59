"""Packaging rules: every subpackage ships, and models/ and exporters/ install inside our namespace."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_subpackage_is_listed_for_installation():
    setuptools = pyproject()["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    on_disk = {".".join(("aibench_onnx",) + p.parent.relative_to(ROOT / "aibench_onnx").parts)
               for p in (ROOT / "aibench_onnx").rglob("__init__.py")}
    assert on_disk <= listed, f"add to [tool.setuptools] packages: {sorted(on_disk - listed)}"


def test_models_and_exporters_install_under_the_aibench_namespace():
    setuptools = pyproject()["tool"]["setuptools"]
    assert setuptools["package-dir"]["aibench_onnx.models"] == "models"
    assert setuptools["package-dir"]["aibench_onnx.exporters"] == "exporters"
    assert not {"models", "exporters"} & set(setuptools["packages"])


def test_installed_models_package_is_the_repository_folder():
    import aibench_onnx.models

    assert Path(aibench_onnx.models.__file__).resolve().parent == ROOT / "models"


def test_alias_version_matches_the_gpu_pin():
    alias = tomllib.loads((ROOT / "packaging/onnxruntime-gpu-alias/pyproject.toml").read_text())["project"]
    public_version = alias["version"].split("+")[0]
    assert alias["name"] == "onnxruntime"
    assert alias["dependencies"] == [f"onnxruntime-gpu=={public_version}"]
