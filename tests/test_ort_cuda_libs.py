"""ONNX Runtime with CUDA libraries from pip: the one-time preload before GPU sessions."""


def test_pip_cuda_preload_is_skipped_without_nvidia_packages_and_keeps_stdout_clean(monkeypatch, tmp_path, capfd):
    import types

    from aibench_onnx.ort import cuda_libs as ort_cuda_libs

    monkeypatch.setattr(ort_cuda_libs, "_state", None)
    monkeypatch.setattr(ort_cuda_libs.importlib.util, "find_spec", lambda name: None)
    assert ort_cuda_libs.preload_pip_cuda_libraries() == {"attempted": False,
                                                         "reason": "no nvidia-* pip packages installed"}

    # with nvidia packages present, ORT's preload runs once and what it prints is kept, not printed
    calls = []

    def fake_preload(cuda, cudnn):
        calls.append((cuda, cudnn))
        print("Failed to load libcudart.so.13: cannot open shared object file")

    monkeypatch.setattr(ort_cuda_libs, "_state", None)
    monkeypatch.setattr(ort_cuda_libs.importlib.util, "find_spec", lambda name: object())
    monkeypatch.setitem(__import__("sys").modules, "onnxruntime",
                        types.SimpleNamespace(preload_dlls=fake_preload, __version__="test"))
    first = ort_cuda_libs.preload_pip_cuda_libraries()
    again = ort_cuda_libs.preload_pip_cuda_libraries()
    assert first is again and calls == [(True, True)]
    assert first["attempted"] and "libcudart.so.13" in first["messages"][0]
    assert "libcudart" not in capfd.readouterr().out
