"""Which ONNX Runtime build is really on disk, read from package metadata without importing it.

Several distributions (onnxruntime, onnxruntime-gpu, onnxruntime-directml, ...) install files into the
same `onnxruntime/` folder. When two are installed, the last one written wins file by file, and pip
still lists both. We find the owner by hashing the native extension module on disk and comparing the
hash with each distribution's RECORD.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Iterable

# Distributions that provide the `onnxruntime` import package.
ORT_DISTRIBUTIONS = (
    "onnxruntime",
    "onnxruntime-gpu",
    "onnxruntime-directml",
    "onnxruntime-openvino",
    "onnxruntime-qnn",
    "onnxruntime-training",
)
# The metadata-only alias in packaging/onnxruntime-gpu-alias announces itself with this summary.
ALIAS_SUMMARY_PREFIX = "aibench-onnx alias"
NATIVE_MODULE_PREFIX = "onnxruntime/capi/onnxruntime_pybind11_state"
CUDA_PROVIDER_LIBRARY = "onnxruntime/capi/libonnxruntime_providers_cuda"


@dataclass
class OrtDistribution:
    name: str
    version: str
    alias: bool  # our metadata-only alias, which installs no files
    owns_files_on_disk: bool | None  # None: the distribution records no native module


@dataclass
class OrtInstall:
    distributions: list[OrtDistribution] = field(default_factory=list)
    build: str | None = None  # "gpu", "cpu", "directml", ... : the distribution whose files are on disk
    version: str | None = None
    cuda_provider_library_present: bool = False
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _normalise(name: str) -> str:
    return name.lower().replace("_", "-")


def _record_hash_matches(dist: metadata.Distribution) -> bool | None:
    """True when the dist's native module on disk has the hash its RECORD promises."""
    for entry in dist.files or ():
        if not str(entry).replace("\\", "/").startswith(NATIVE_MODULE_PREFIX) or entry.hash is None:
            continue
        on_disk = Path(str(dist.locate_file(entry)))
        if not on_disk.is_file():
            return False
        digest = hashlib.sha256()
        with on_disk.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        encoded = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()
        return entry.hash.mode == "sha256" and entry.hash.value == encoded
    return None


def _build_label(dist_name: str) -> str:
    return "cpu" if dist_name == "onnxruntime" else dist_name.removeprefix("onnxruntime-")


def inspect_ort_install(distributions: Iterable[metadata.Distribution] | None = None) -> OrtInstall:
    """Describe the installed ONNX Runtime distributions and which one's files are on disk."""
    if distributions is None:
        distributions = metadata.distributions()
    found: dict[str, metadata.Distribution] = {}
    for dist in distributions:
        name = _normalise(dist.metadata["Name"] or "")
        if name in ORT_DISTRIBUTIONS and name not in found:  # first on sys.path wins, as for import
            found[name] = dist

    install = OrtInstall()
    for name, dist in sorted(found.items()):
        alias = (dist.metadata["Summary"] or "").startswith(ALIAS_SUMMARY_PREFIX)
        owns = None if alias else _record_hash_matches(dist)
        install.distributions.append(OrtDistribution(name, dist.version, alias, owns))
        if owns:
            install.build, install.version = _build_label(name), dist.version
            for entry in dist.files or ():
                if str(entry).startswith(CUDA_PROVIDER_LIBRARY):
                    install.cuda_provider_library_present = Path(str(dist.locate_file(entry))).is_file()

    real = [d for d in install.distributions if not d.alias]
    if not real:
        install.warnings.append("onnxruntime is not installed: pip install aibench-onnx")
    elif len(real) > 1:
        names = " and ".join(d.name for d in real)
        owner = install.build or "none of them intact"
        fix = _fix_command(real)
        install.warnings.append(
            f"CLASH: {names} are both installed and overwrite each other's onnxruntime/ files; "
            f"files on disk: {owner}. Fix: {fix}"
        )
    elif install.build is None:
        install.warnings.append(
            f"{real[0].name} {real[0].version} files on disk do not match its RECORD (another build "
            f"overwrote or removed them). Fix: {_fix_command(real)}"
        )
    return install


def _fix_command(real: list[OrtDistribution]) -> str:
    keep = next((d for d in real if d.name == "onnxruntime-gpu"), real[0])
    names = " ".join(sorted({d.name for d in real}))
    return (
        f"pip uninstall -y {names} && pip install --no-deps --force-reinstall {keep.name}=={keep.version} "
        "(or reinstall with packaging/onnxruntime-gpu-alias, see README)"
    )
