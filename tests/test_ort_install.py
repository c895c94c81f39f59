"""Which onnxruntime build is on disk: forensics on fake site-packages, and on the real install."""

import base64
import hashlib
import platform
from importlib import metadata

from aibench_onnx.ort.install import inspect_ort_install

NATIVE = "onnxruntime/capi/onnxruntime_pybind11_state.cpython-311-x86_64-linux-gnu.so"
CUDA_LIB = "onnxruntime/capi/libonnxruntime_providers_cuda.so"


def _record_line(path: str, content: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(content)}"


def make_dist(site, name: str, version: str, files: dict[str, bytes], summary: str = "ONNX Runtime") -> None:
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: {summary}\n")
    (info / "RECORD").write_text("\n".join(_record_line(p, c) for p, c in files.items()) + "\n")


def write_files(site, files: dict[str, bytes]) -> None:
    for rel, content in files.items():
        target = site / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def inspect(site):
    return inspect_ort_install(metadata.distributions(path=[str(site)]))


GPU_FILES = {NATIVE: b"gpu build native module", CUDA_LIB: b"cuda provider"}
CPU_FILES = {NATIVE: b"cpu build native module"}


def test_gpu_build_alone_is_clean(tmp_path):
    make_dist(tmp_path, "onnxruntime-gpu", "1.31.1", GPU_FILES)
    write_files(tmp_path, GPU_FILES)
    install = inspect(tmp_path)
    assert install.build == "gpu" and install.version == "1.31.1"
    assert install.cuda_provider_library_present
    assert install.warnings == []


def test_clash_where_cpu_build_won_is_reported_loudly(tmp_path):
    make_dist(tmp_path, "onnxruntime-gpu", "1.31.1", GPU_FILES)
    make_dist(tmp_path, "onnxruntime", "1.32.0", CPU_FILES)
    write_files(tmp_path, GPU_FILES)
    write_files(tmp_path, CPU_FILES)  # installed last: overwrites the native module
    install = inspect(tmp_path)
    assert install.build == "cpu"
    owners = {d.name: d.owns_files_on_disk for d in install.distributions}
    assert owners == {"onnxruntime": True, "onnxruntime-gpu": False}
    assert any(w.startswith("CLASH") and "files on disk: cpu" in w for w in install.warnings)
    assert any("pip install --no-deps --force-reinstall onnxruntime-gpu==1.31.1" in w for w in install.warnings)


def test_alias_beside_gpu_build_is_not_a_clash(tmp_path):
    make_dist(tmp_path, "onnxruntime-gpu", "1.31.1", GPU_FILES)
    make_dist(tmp_path, "onnxruntime", "1.31.1+gpu", {}, summary="aibench-onnx alias: satisfies it")
    write_files(tmp_path, GPU_FILES)
    install = inspect(tmp_path)
    assert install.build == "gpu"
    assert [d.alias for d in install.distributions] == [True, False]
    assert install.warnings == []


def test_files_removed_by_an_uninstall_are_detected(tmp_path):
    make_dist(tmp_path, "onnxruntime-gpu", "1.31.1", GPU_FILES)  # RECORD present, files gone
    install = inspect(tmp_path)
    assert install.build is None
    assert "do not match its RECORD" in install.warnings[0]


def test_nothing_installed(tmp_path):
    install = inspect(tmp_path)
    assert install.distributions == [] and install.build is None
    assert "not installed" in install.warnings[0]


def test_real_install_is_the_gpu_build_on_linux_x86_64():
    """The README's install path must leave the GPU build on disk, whatever pip's install order was."""
    install = inspect_ort_install()
    if platform.system() == "Linux" and platform.machine() == "x86_64":
        assert install.build == "gpu", install
        assert install.cuda_provider_library_present
        assert install.warnings == []
    else:
        assert install.build is not None, install
